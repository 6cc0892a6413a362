#ifndef PDP_SERVER_PEER_BOOTSTRAP_H_
#define PDP_SERVER_PEER_BOOTSTRAP_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "pdp/v1/admin.pb.h"

namespace pdp::server {

// Fills an empty replica's store from its peers: in a background thread,
// rounds over `peers` (each "host:port" expanded to every address the host
// resolves to, IPv4 and IPv6, this server's own addresses skipped) asking
// PolicyAdmin.GetBundle for the active signed bundle, handing each answer to
// `install` (the push path: verify against the trusted keys, compile, store,
// activate) until one is installed or `has_policy` says a bundle is active
// (a push came first). Rounds are separated by a growing backoff. Failures
// are logged to stderr, never fatal. Never blocks the caller.
// Thread-safe. The destructor stops the thread (cancelling a call in flight).
class PeerBootstrap {
 public:
  struct Options {
    // "host:port" of each peer.
    std::vector<std::string> peers;
    // This server's port: a peer address that is a local interface's
    // address at this port is this server, and is skipped.
    int own_port = 0;
    // Reads the credentials for each round (mTLS with the server's own
    // certificate; files are re-read so that rotation applies). Returns the
    // reason when they cannot be made.
    std::function<absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>()>
        credentials;
    // Whether TLS verifies each peer against its host name (the default)
    // rather than the address dialled; false for plaintext.
    bool verify_host_name = true;
    absl::Duration initial_backoff = absl::Seconds(1);
    absl::Duration max_backoff = absl::Seconds(30);
    absl::Duration call_timeout = absl::Seconds(10);
  };

  // Makes `bundle` active as a push would. FailedPrecondition means a newer
  // bundle is active already (a push came first): bootstrapping stops.
  using InstallFn = std::function<absl::Status(const v1::SignedBundle& bundle)>;
  // Whether the store has an active bundle.
  using HasPolicyFn = std::function<bool()>;

  // Starts the thread. REQUIRES: !options.peers.empty(), all functions set.
  static std::unique_ptr<PeerBootstrap> Start(Options options,
                                              InstallFn install,
                                              HasPolicyFn has_policy);
  ~PeerBootstrap();

  // Waits until bootstrapping ended (a bundle installed, or one active
  // anyway). Returns whether it did within `timeout`.
  bool AwaitFinished(absl::Duration timeout) const;
  // Waits until at least `rounds` rounds over the peers have completed (or
  // bootstrapping ended). Returns whether they did within `timeout`.
  bool AwaitRounds(int rounds, absl::Duration timeout) const;

 private:
  PeerBootstrap(Options options, InstallFn install, HasPolicyFn has_policy);

  void Run();
  // One round over every peer address; returns whether bootstrapping ended.
  bool Round();
  // Asks one address; returns whether bootstrapping ended.
  bool Ask(const std::shared_ptr<grpc::ChannelCredentials>& credentials,
           const std::string& peer, const std::string& host,
           const std::string& address);

  const Options options_;
  const InstallFn install_;
  const HasPolicyFn has_policy_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  int rounds_ ABSL_GUARDED_BY(mu_) = 0;
  grpc::ClientContext* call_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::thread thread_;
};

}  // namespace pdp::server

#endif  // PDP_SERVER_PEER_BOOTSTRAP_H_
