#ifndef TOOLS_PDP_BENCH_NULL_SERVER_H_
#define TOOLS_PDP_BENCH_NULL_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"

namespace pdp_bench {

struct NullServerOptions {
  // Where to listen, "HOST:PORT"; port 0 picks a free port.
  std::string address = "127.0.0.1:0";
  // Transport security; required (grpc::InsecureServerCredentials() for
  // plaintext).
  std::shared_ptr<grpc::ServerCredentials> credentials;
  // Tools in every FilterTools response.
  int filter_tools = 20;
};

// A pdp.v1.Authorizer that answers without an engine, to measure what gRPC
// itself costs on this machine: every Check is the same ALLOW decision (with
// a policy version and a decision id), every BatchCheck that decision once
// per check in request order, every FilterTools the same list of
// `filter_tools` tools ("null.tool_0000"...; some with an approval, a step-up
// or a redaction, as real answers have). Requests are not validated. Served
// with the callback API on gRPC's threads.
// Thread-safe: Shutdown() may be called from any thread, more than once.
class NullServer {
 public:
  // Returns Unavailable when the address cannot be bound, InvalidArgument
  // when credentials are missing.
  static absl::StatusOr<std::unique_ptr<NullServer>> Start(
      const NullServerOptions& options);

  // Shuts down (see Shutdown()).
  ~NullServer();

  // The bound port.
  int port() const { return port_; }

  // Stops accepting calls, lets calls in flight finish (up to 5 seconds,
  // then cancels them) and returns when the server has stopped.
  void Shutdown();

 private:
  class Service;
  NullServer() = default;

  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace pdp_bench

#endif  // TOOLS_PDP_BENCH_NULL_SERVER_H_
