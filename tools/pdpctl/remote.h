#ifndef TOOLS_PDPCTL_REMOTE_H_
#define TOOLS_PDPCTL_REMOTE_H_

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "tools/pdpctl/commands.h"
#include "tools/pdpctl/replicas.h"

namespace pdpctl {

// What every command that talks to PDP servers shares: the server and TLS
// flags, client credentials built once from them, channels and a context
// with its deadline per call, replica expansion, and how a failed call is printed.

// The flags that say how to reach a server: --server (one, or repeatable
// for `repeatable_server`), --ca, --cert, --key, --server-name, --insecure,
// --timeout.
std::vector<FlagSpec> ServerFlags(bool repeatable_server);

// `flags` with --json (help `what`), or with --service.
std::vector<FlagSpec> WithJson(std::vector<FlagSpec> flags,
                               absl::string_view what);
std::vector<FlagSpec> WithService(std::vector<FlagSpec> flags);

// The TLS paragraph of a remote command's help.
inline constexpr char kTlsHelp[] =
    "TLS: --ca FILE --cert FILE --key FILE [--server-name NAME] (mTLS, the\n"
    "default), or --insecure for a plaintext trial server.\n";

// How to reach the servers, from the flags. Immutable once built.
struct Connection {
  std::vector<std::string> servers;  // At least one.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  grpc::ChannelArguments channel_args;
  absl::Duration timeout = absl::Seconds(30);
  bool server_name_given = false;  // --server-name: it is the TLS name.

  std::shared_ptr<grpc::Channel> Channel(const std::string& server) const;
  // Dials the replica's address; TLS verifies its name (unless --server-name
  // names another).
  std::shared_ptr<grpc::Channel> Channel(const Replica& replica) const;
  // A context for one call, its deadline --timeout from now.
  std::unique_ptr<grpc::ClientContext> NewContext() const;
};

// Reads the server and TLS flags (several --server with `many_servers`).
// Returns InvalidArgument for a usage problem (a missing --server, a bad
// --timeout, TLS flags that do not go together) and FailedPrecondition,
// naming the flag, for a TLS file that cannot be read.
absl::StatusOr<Connection> ConnectionFromArgs(const Args& args,
                                              bool many_servers);

// For the commands that take no argument and one --server: as
// ConnectionFromArgs, and InvalidArgument for an argument.
absl::StatusOr<Connection> OneServerFromArgs(const Args& args);

// How a command's entry point reports the status of ConnectionFromArgs or
// OneServerFromArgs: InvalidArgument as a usage error, anything else as
// "pdpctl COMMAND: message". Returns kExitUsage.
int ConnectionFailed(absl::string_view command, const absl::Status& status,
                     std::ostream& err);

// The addresses `server` stands for: every address its host name resolves
// to (ExpandServer), or `server` as given when not `resolve`. Returns
// Unavailable for a name that does not resolve.
absl::StatusOr<std::vector<Replica>> ReplicasOf(const std::string& server,
                                                bool resolve);

// "CODE: message" of a failed call.
std::string Failure(const grpc::Status& status);

// For single-server commands: prints "pdpctl CMD: ADDR: CODE: message";
// returns kExitFailed.
int RpcFailed(absl::string_view command, const std::string& server,
              const grpc::Status& status, std::ostream& err);

}  // namespace pdpctl

#endif  // TOOLS_PDPCTL_REMOTE_H_
