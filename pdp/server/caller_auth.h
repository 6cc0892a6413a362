#ifndef PDP_SERVER_CALLER_AUTH_H_
#define PDP_SERVER_CALLER_AUTH_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"
#include "pdp/server/config.h"
#include "pdp/server/ip_allowlist.h"

namespace pdp::server {

// The identity a caller's certificate proves (SPIFFE X509-SVID §5).
struct PeerIdentity {
  std::string name;     // A SPIFFE id or a DNS name.
  bool spiffe = false;  // From the certificate's one URI SAN.
};

// A SPIFFE id comes only from a certificate's only URI SAN; otherwise the
// identity is its first DNS SAN, which is only ever a DNS name (a DNS SAN
// spelling "spiffe://..." is not a SPIFFE id). Returns PermissionDenied when
// the certificate has two or more URI SANs, when its DNS SAN is not a host
// name, or when it has neither a SPIFFE URI SAN nor a DNS SAN.
absl::StatusOr<PeerIdentity> IdentityOf(const grpc::AuthContext& auth);

// Decides who may call what: the peer address against the IP allowlist, the
// certificate's identity against the configured grants.
// Immutable after Create(); thread-safe.
class CallerAuth {
 public:
  struct Caller {
    std::string identity;  // "anonymous" when serving insecurely.
    std::vector<Permission> permissions;
    bool Has(Permission p) const;
  };

  // Returns InvalidArgument for an invalid IP allowlist.
  static absl::StatusOr<CallerAuth> Create(const ServerConfig& config);

  // Returns the caller if it may call an RPC needing `needed`; otherwise
  // PermissionDenied naming the peer that is not allowlisted, or the
  // identity and the missing permission.
  absl::StatusOr<Caller> Authorize(const grpc::ServerContextBase& context,
                                   Permission needed) const;

 private:
  CallerAuth(IpAllowlist allowlist, std::vector<CallerGrant> grants,
             bool insecure)
      : allowlist_(std::move(allowlist)),
        grants_(std::move(grants)),
        insecure_(insecure) {}

  // A grant for a "spiffe://" identity (or glob) matches only SPIFFE
  // identities; other grants match either kind.
  std::vector<Permission> PermissionsOf(const PeerIdentity& identity) const;

  IpAllowlist allowlist_;
  std::vector<CallerGrant> grants_;
  bool insecure_;
};

}  // namespace pdp::server

#endif  // PDP_SERVER_CALLER_AUTH_H_
