#ifndef TOOLS_PDPCTL_REPLICAS_H_
#define TOOLS_PDPCTL_REPLICAS_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace pdpctl {

// One PDP server replica a `--server` flag names. A host name stands for
// every address it resolves to (a headless Service has one per pod); each is
// dialled on its own while TLS still verifies the certificate against the
// name. Plain value; thread-compatible.
struct Replica {
  // The --server value as given: "pdp-headless.pdp.svc:8443".
  std::string server;
  // What to dial, "10.0.0.5:8443" or "[fd00::5]:8443"; empty when `server`
  // is dialled as given (a literal address, or expansion turned off).
  std::string address;
  // The name the server's certificate must carry when `address` is dialled:
  // the host of `server`. Empty with `address`.
  std::string tls_name;

  // What gRPC dials: `address`, or else `server`.
  const std::string& target() const {
    return address.empty() ? server : address;
  }
  // How results name the replica: "NAME:PORT (ADDRESS:PORT)", or `server`.
  std::string Label() const;
};

// Resolves a host name to its numeric addresses (IPv4 "10.0.0.5", IPv6
// "fd00::5", no brackets), in the order to use them. Returns a non-OK status
// naming the host when it cannot.
using HostResolver =
    std::function<absl::StatusOr<std::vector<std::string>>(const std::string&)>;

// The system resolver (getaddrinfo, IPv4 and IPv6, TCP): every address, in
// getaddrinfo's order, each once. Returns NotFound naming the host when it
// has no address, Unavailable when resolution fails.
absl::StatusOr<std::vector<std::string>> ResolveHost(const std::string& host);

// The replicas `server` names: "host:port" with a host name expands to one
// replica per address `resolve` returns (duplicates dropped); a literal IPv4
// or [IPv6] address, a gRPC target with a scheme ("unix:...", "dns:..."),
// or a value without a port stays one replica dialled as given. Returns the
// resolver's error, or NotFound when it returns no address.
absl::StatusOr<std::vector<Replica>> ExpandServer(const std::string& server,
                                                  const HostResolver& resolve);

}  // namespace pdpctl

#endif  // TOOLS_PDPCTL_REPLICAS_H_
