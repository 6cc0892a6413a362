#ifndef PDP_SERVER_DECODING_SERVICES_H_
#define PDP_SERVER_DECODING_SERVICES_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "pdp/server/authorizer_service.h"
#include "pdp/server/config.h"
#include "pdp/server/directory_service.h"
#include "pdp/server/policy_admin_service.h"

namespace pdp::server {

// The pdp.v1 services as registered with gRPC. gRPC's generated handlers
// decode a request before any code of ours runs and answer one they cannot
// decode with an empty UNIMPLEMENTED (and libprotobuf logs a line per
// request with invalid UTF-8). Here every RPC takes the raw body instead:
// DecodeRequest() (request_decoder.h), then CheckBounds() (bounds.h),
// then the typed service's method with the decoded request. An undecodable
// body is INVALID_ARGUMENT naming the type and the field, and is counted:
// the count is PolicyAdmin.GetStatus's undecodable_requests, and the first
// one is logged once on stderr. Over-long ids are INVALID_ARGUMENT before the
// caller is authorized.
//
// REQUIRES: every typed method finishes its call inline, before it returns
// (all of them do): the response is encoded after the typed method returns,
// which gRPC sends when the returned reactor is bound.
// Thread-safe. The typed services must outlive this object.
class DecodingServices {
 public:
  // `admin` and `directory` may be null (no store): not served.
  DecodingServices(AuthorizerService& authorizer, PolicyAdminService* admin,
                   DirectoryService* directory,
                   const ServerConfig::Limits& limits);
  ~DecodingServices();

  // The services to register with a grpc::ServerBuilder; owned here.
  std::vector<grpc::Service*> services() const;

  // Requests answered INVALID_ARGUMENT because their body could not be
  // decoded, since start.
  uint64_t undecodable() const;

  // What the raw services share; public for them, not for callers.
  struct Shared;

 private:
  std::unique_ptr<Shared> shared_;
  std::vector<std::unique_ptr<grpc::Service>> services_;
};

}  // namespace pdp::server

#endif  // PDP_SERVER_DECODING_SERVICES_H_
