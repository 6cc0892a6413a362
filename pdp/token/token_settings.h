#ifndef PDP_TOKEN_TOKEN_SETTINGS_H_
#define PDP_TOKEN_TOKEN_SETTINGS_H_

// The token settings file: trusted issuers with their keys, clock skew and
// the longest token lifetimes policy allows. The server reads it at start and
// again when any file in `files_read` changes.
//
//   clock_skew_seconds: 60
//   max_lifetime_seconds: {untrusted: 300, standard: 3600, trusted: 3600,
//                          internal: 3600, agent: 3600, service: 3600}
//   max_delegation_depth: 4          # agents in one chain of act claims
//   issuers:
//     - issuer: https://auth.acme.example
//       jwks_file: auth-jwks.json      # relative to this file's directory
//       roles_claim: groups            # optional: the IdP says the roles
//       roles: {Sales: [sales], Executives: [executive]}
//     - issuer: https://agents.acme.example
//       jwks: {keys: [...]}            # inline, as YAML or JSON
//
// Every key is optional; an empty file means the defaults and no issuers.
//
// Thread-safe (LoadTokenSettings only reads files).

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "pdp/token/token_verifier.h"
#include "pdp/v1/policy.pb.h"

namespace pdp {
namespace token {

struct TokenSettings {
  // Tolerated clock difference with issuers (TokenVerifierOptions).
  absl::Duration clock_skew = absl::Seconds(60);
  // The longest lifetime (exp - iat) of an access token, by the trust level of
  // its client (indexed by v1::ClientTrust; CLIENT_TRUST_UNSPECIFIED is
  // UNTRUSTED). Defaults: untrusted 5 minutes, standard, trusted and
  // internal 1 hour.
  absl::Duration max_lifetime[v1::ClientTrust_ARRAYSIZE] = {
      absl::Minutes(5), absl::Minutes(5), absl::Hours(1), absl::Hours(1),
      absl::Hours(1)};
  // The longest lifetime of an agent's own token.
  absl::Duration max_agent_lifetime = absl::Hours(1);
  // The longest lifetime of a service's own token.
  absl::Duration max_service_lifetime = absl::Hours(1);
  // The most agents one delegation may name (the access token's nested act
  // claims, RFC 8693): a longer chain is DENY DELEGATION_TOO_DEEP.
  int max_delegation_depth = 4;
  // The trusted issuers, in file order, with distinct names.
  std::vector<TrustedIssuer> issuers;
  // The settings file and every jwks_file it names (as opened), for change
  // watching.
  std::vector<std::string> files_read;
};

// Reads the settings file at `path`. Returns NotFound if it cannot be read,
// and InvalidArgument "path:line: sentence" for YAML that does not parse, an
// unknown key, a value of the wrong type or range (a negative skew or one
// over an hour, a non-positive lifetime), an issuer entry without "issuer",
// a duplicate issuer, an issuer with both or neither of "jwks" and
// "jwks_file", an unreadable jwks_file, a JWK set that JwkSet::Parse
// refuses (with its message), max_delegation_depth outside 1..32, "roles"
// without "roles_claim" (or the reverse), or a "roles" entry that is not a
// role id or a list of them.
absl::StatusOr<TokenSettings> LoadTokenSettings(const std::string& path);

// A verifier over `settings`' issuers and clock skew, remembering up to
// `cache_entries` verified tokens taking up to `cache_max_bytes` (0: none).
std::unique_ptr<TokenVerifier> NewTokenVerifier(
    const TokenSettings& settings, size_t cache_entries,
    size_t cache_max_bytes = TokenVerifierOptions().cache_max_bytes);

}  // namespace token
}  // namespace pdp

#endif  // PDP_TOKEN_TOKEN_SETTINGS_H_
