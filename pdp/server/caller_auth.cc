#include "pdp/server/caller_auth.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpc/grpc_security_constants.h"
#include "pdp/glob.h"

namespace pdp::server {
namespace {

constexpr absl::string_view kAnonymous = "anonymous";

}  // namespace

std::string IdentityOf(const grpc::AuthContext& auth) {
  for (const grpc::string_ref& id :
       auth.FindPropertyValues(GRPC_PEER_SPIFFE_ID_PROPERTY_NAME)) {
    return std::string(id.data(), id.size());
  }
  // gRPC sets peer_spiffe_id only for a single, valid SPIFFE URI SAN.
  for (const grpc::string_ref& uri :
       auth.FindPropertyValues(GRPC_PEER_URI_PROPERTY_NAME)) {
    absl::string_view value(uri.data(), uri.size());
    if (absl::StartsWith(value, "spiffe://")) return std::string(value);
  }
  for (const grpc::string_ref& dns :
       auth.FindPropertyValues(GRPC_PEER_DNS_PROPERTY_NAME)) {
    return std::string(dns.data(), dns.size());
  }
  return "";
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
    absl::string_view identity) const {
  for (const CallerGrant& grant : grants_) {
    if (GlobMatch(grant.identity, identity)) return grant.permissions;
  }
  if (insecure_ && identity == kAnonymous) {
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
  Caller caller;
  if (insecure_) {
    caller.identity = std::string(kAnonymous);
  } else {
    std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
    if (auth != nullptr) caller.identity = IdentityOf(*auth);
    if (caller.identity.empty()) {
      return absl::PermissionDeniedError(
          "the client certificate has neither a SPIFFE URI SAN nor a DNS SAN "
          "to identify the caller");
    }
  }
  caller.permissions = PermissionsOf(caller.identity);
  if (!caller.Has(needed)) {
    return absl::PermissionDeniedError(
        absl::StrCat("caller \"", caller.identity, "\" lacks the \"",
                     PermissionName(needed), "\" permission"));
  }
  return caller;
}

}  // namespace pdp::server
