#ifndef PDP_SERVER_STATUS_H_
#define PDP_SERVER_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"

namespace pdp::server {

// The one translation of absl::Status to grpc::Status: same code, same
// message.
inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

}  // namespace pdp::server

#endif  // PDP_SERVER_STATUS_H_
