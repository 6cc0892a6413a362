#include "pdp/server/caller_auth.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpc/grpc_security_constants.h"
#include "pdp/glob.h"
#include "pdp/quote.h"

namespace pdp::server {
namespace {

constexpr absl::string_view kAnonymous = "anonymous";
constexpr absl::string_view kSpiffePrefix = "spiffe://";

// Letters, digits, '-', '.', and '*' (wildcard certificates): what a DNS SAN
// may hold. Anything else ("spiffe://...") is no host name.
bool IsHostName(absl::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' &&
        c != '.' && c != '*') {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<PeerIdentity> IdentityOf(const grpc::AuthContext& auth) {
  std::vector<grpc::string_ref> uris =
      auth.FindPropertyValues(GRPC_PEER_URI_PROPERTY_NAME);
  if (uris.size() > 1) {
    return absl::PermissionDeniedError(absl::StrCat(
        "the client certificate has ", uris.size(),
        " URI SANs; a caller's SPIFFE id must be its only URI SAN (SPIFFE "
        "X509-SVID 5), so it identifies no caller"));
  }
  if (uris.size() == 1) {
    absl::string_view uri(uris[0].data(), uris[0].size());
    if (absl::StartsWith(uri, kSpiffePrefix)) {
      return PeerIdentity{std::string(uri), /*spiffe=*/true};
    }
  }
  for (const grpc::string_ref& dns :
       auth.FindPropertyValues(GRPC_PEER_DNS_PROPERTY_NAME)) {
    absl::string_view name(dns.data(), dns.size());
    if (!IsHostName(name)) {
      return absl::PermissionDeniedError(absl::StrCat(
          "the client certificate's DNS SAN ", Quote(name),
          " is not a host name; a SPIFFE id is only taken from a URI SAN"));
    }
    return PeerIdentity{std::string(name), /*spiffe=*/false};
  }
  return absl::PermissionDeniedError(
      "the client certificate has neither a SPIFFE URI SAN nor a DNS SAN to "
      "identify the caller");
}

bool CallerAuth::Caller::Has(Permission p) const {
  return std::find(permissions.begin(), permissions.end(), p) !=
         permissions.end();
}

absl::StatusOr<CallerAuth> CallerAuth::Create(const ServerConfig& config) {
  absl::StatusOr<IpAllowlist> allowlist = IpAllowlist::Parse(config.ip_allowlist);
  if (!allowlist.ok()) return allowlist.status();
  return CallerAuth(*std::move(allowlist), config.callers, config.insecure);
}

std::vector<Permission> CallerAuth::PermissionsOf(
    const PeerIdentity& identity) const {
  for (const CallerGrant& grant : grants_) {
    if (absl::StartsWith(grant.identity, kSpiffePrefix) && !identity.spiffe) {
      continue;
    }
    if (GlobMatch(grant.identity, identity.name)) return grant.permissions;
  }
  if (insecure_ && identity.name == kAnonymous) {
    return {Permission::kCheck, Permission::kFilter};
  }
  return {};
}

absl::StatusOr<CallerAuth::Caller> CallerAuth::Authorize(
    const grpc::ServerContextBase& context, Permission needed) const {
  const std::string peer = context.peer();
  if (!allowlist_.Allows(peer)) {
    return absl::PermissionDeniedError(
        absl::StrCat("peer ", peer, " is not in the ip_allowlist"));
  }
  PeerIdentity identity{std::string(kAnonymous), /*spiffe=*/false};
  if (!insecure_) {
    std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
    if (auth == nullptr) {
      return absl::PermissionDeniedError(
          "the connection carries no client certificate");
    }
    absl::StatusOr<PeerIdentity> proven = IdentityOf(*auth);
    if (!proven.ok()) return proven.status();
    identity = *std::move(proven);
  }
  Caller caller;
  caller.permissions = PermissionsOf(identity);
  const absl::string_view identity_kind_note =
      insecure_ ? "" : (identity.spiffe ? " (a SPIFFE id)" : " (a DNS name)");
  caller.identity = std::move(identity.name);
  if (!caller.Has(needed)) {
    return absl::PermissionDeniedError(
        absl::StrCat("caller \"", caller.identity, "\"",
                     identity_kind_note, " lacks the \"",
                     PermissionName(needed), "\" permission"));
  }
  return caller;
}

}  // namespace pdp::server
