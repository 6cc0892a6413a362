#ifndef PDP_SERVER_SERVER_H_
#define PDP_SERVER_SERVER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "cache/store.h"
#include "cache/user_directory.h"
#include "pdp/active_policy.h"
#include "pdp/engine.h"
#include "pdp/server/authorizer_service.h"
#include "pdp/server/token_trust.h"
#include "pdp/server/caller_auth.h"
#include "pdp/server/config.h"
#include "pdp/server/bundle_manager.h"
#include "pdp/server/decision_log.h"
#include "pdp/server/decoding_services.h"
#include "pdp/server/directory_service.h"
#include "pdp/server/peer_bootstrap.h"
#include "pdp/server/policy_admin_service.h"

namespace pdp::server {

// The health service name that reports SERVING from the start until
// EnterLameDuck() or Shutdown(), policy or not: the process is alive (it
// accepts connections, completes handshakes and answers calls).
inline constexpr char kLivenessService[] = "liveness";

// The PDP process's gRPC server: pdp.v1.Authorizer, grpc.health.v1.Health
// (SERVING exactly while a policy is active and neither EnterLameDuck() nor
// Shutdown() was called, for the server ("") and for "pdp.v1.Authorizer";
// and for kLivenessService until then) and server reflection, over mTLS
// unless configured insecure. Connections are bounded by
// config.connections; Start() raises the process's descriptor limit to its
// hard limit and sets the process-wide ConnectionGuard ceiling.
// Thread-safe.
class PdpServer {
 public:
  // Validates `config`, opens the store (if configured) and activates its
  // active bundle, or else compiles the policy directory (a bootstrap of an
  // empty store; a store whose active bundle cannot be served starts
  // NOT_SERVING instead, unless config.policy_overrides_store),
  // opens the decision log and starts serving. With a store it also serves
  // pdp.v1.PolicyAdmin and pdp.v1.Directory. Returns InvalidArgument naming
  // the config key, or the policy's errors, the store's error, and
  // Unavailable if the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<PdpServer>> Start(
      const ServerConfig& config);

  ~PdpServer();

  // The bound port (the chosen one when the config asked for port 0).
  int port() const { return port_; }

  // Makes `snapshot` the policy decisions are made against and reports
  // SERVING.
  void Activate(std::shared_ptr<const Snapshot> snapshot);

  // Starts the lame-duck phase before a Shutdown(): health reports
  // NOT_SERVING for the server ("") and every service from now on, whatever
  // Activate() does later, while every call is still answered as before.
  // Load balancers and health-checking clients stop sending new calls;
  // those already on their way are still decided rather than refused.
  // Idempotent.
  void EnterLameDuck();

  // Stops accepting calls, lets those in flight finish for up to `grace`,
  // and cancels the rest. Reports NOT_SERVING first (as EnterLameDuck()).
  // Idempotent. The decision log is drained when the server is destroyed.
  void Shutdown(absl::Duration grace);

  // The version decisions are made against; empty while no policy is active.
  std::string policy_version() const;

  // Decisions the log dropped because its queue was full; 0 without a log.
  uint64_t dropped_decisions() const;

  // Requests answered INVALID_ARGUMENT because their body could not be
  // decoded (DecodingServices).
  uint64_t undecodable_requests() const;

  // Asking `bootstrap_peers` for a bundle, started when the store had no
  // active bundle at start; nullptr otherwise.
  const PeerBootstrap* bootstrap() const { return bootstrap_.get(); }

 private:
  PdpServer() = default;

  // Starts bootstrap_ if the config lists peers and the store has no active
  // bundle. Returns the store's error.
  absl::Status StartPeerBootstrap(const ServerConfig& config);

  ActivePolicy policy_;
  std::unique_ptr<CallerAuth> auth_;
  std::unique_ptr<DecisionLog> log_;
  // With a store:
  std::unique_ptr<cache::Store> store_;
  std::unique_ptr<cache::UserDirectory> directory_;
  std::unique_ptr<DirectoryUserSource> user_source_;
  std::unique_ptr<BundleManager> bundles_;
  std::unique_ptr<PolicyAdminService> admin_;
  std::unique_ptr<DirectoryService> directory_service_;
  std::unique_ptr<PeerBootstrap> bootstrap_;  // Reset first by Shutdown().

  std::unique_ptr<TokenTrust> tokens_;
  std::unique_ptr<Engine> engine_;  // On policy_, tokens_ and user_source_.
  std::unique_ptr<AuthorizerService> authorizer_;
  // What gRPC serves: decodes, bounds, then calls the services above.
  std::unique_ptr<DecodingServices> decoding_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

}  // namespace pdp::server

#endif  // PDP_SERVER_SERVER_H_
