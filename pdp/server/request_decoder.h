#ifndef PDP_SERVER_REQUEST_DECODER_H_
#define PDP_SERVER_REQUEST_DECODER_H_

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "grpcpp/support/byte_buffer.h"

namespace pdp::server {

// Decodes a request body into `request` (cleared first). Every string field,
// at any depth, is checked to be valid UTF-8 before the message is parsed, so
// that libprotobuf never logs about a caller's bytes.
// Returns InvalidArgument "request body is not a valid <type>: ..." naming
// the field ("chain.user_id (field 1) is not valid UTF-8", with the index of
// a repeated field's entry) or the malformed wire data.
// Thread-safe (touches only its arguments).
absl::Status DecodeRequest(const grpc::ByteBuffer& body,
                           google::protobuf::Message* request);

}  // namespace pdp::server

#endif  // PDP_SERVER_REQUEST_DECODER_H_
