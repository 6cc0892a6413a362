#ifndef PDP_SERVER_SERVE_UNARY_H_
#define PDP_SERVER_SERVE_UNARY_H_

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"
#include "pdp/server/caller_auth.h"
#include "pdp/server/status.h"

namespace pdp::server {

// Finishes a unary call inline: authorizes the caller for `needed`, then
// runs `body(caller)` (returning absl::Status) and finishes with its status.
template <typename Body>
grpc::ServerUnaryReactor* ServeUnary(grpc::CallbackServerContext* context,
                                     const CallerAuth& auth,
                                     Permission needed, Body body) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<CallerAuth::Caller> caller = auth.Authorize(*context, needed);
  reactor->Finish(ToGrpcStatus(caller.ok() ? body(*caller) : caller.status()));
  return reactor;
}

}  // namespace pdp::server

#endif  // PDP_SERVER_SERVE_UNARY_H_
