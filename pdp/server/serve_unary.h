#ifndef PDP_SERVER_SERVE_UNARY_H_
#define PDP_SERVER_SERVE_UNARY_H_

#include <functional>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"
#include "pdp/server/caller_auth.h"
#include "pdp/server/status.h"

namespace pdp::server {

namespace internal {
// Set by DecodingServices around the typed handler it runs on this thread:
// writes the response message into the raw call's response bytes. gRPC
// sends the response, and may free the call, as soon as Finish() is
// called, so the bytes must be written before.
inline thread_local const std::function<void()>* response_encoder = nullptr;
}  // namespace internal

// Finishes a unary call: when it succeeds, first writes the response for a
// raw (decoding) service, if one runs this call. Every typed handler
// finishes through here.
inline void FinishUnary(grpc::ServerUnaryReactor* reactor,
                        const grpc::Status& status) {
  if (status.ok() && internal::response_encoder != nullptr) {
    (*internal::response_encoder)();
  }
  reactor->Finish(status);
}

// Finishes a unary call inline: authorizes the caller for `needed`, then
// runs `body(caller)` (returning absl::Status) and finishes with its status.
template <typename Body>
grpc::ServerUnaryReactor* ServeUnary(grpc::CallbackServerContext* context,
                                     const CallerAuth& auth,
                                     Permission needed, Body body) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<CallerAuth::Caller> caller = auth.Authorize(*context, needed);
  FinishUnary(reactor,
              ToGrpcStatus(caller.ok() ? body(*caller) : caller.status()));
  return reactor;
}

}  // namespace pdp::server

#endif  // PDP_SERVER_SERVE_UNARY_H_
