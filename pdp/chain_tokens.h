#ifndef PDP_CHAIN_TOKENS_H_
#define PDP_CHAIN_TOKENS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "pdp/request.h"
#include "pdp/snapshot.h"
#include "pdp/token/token_settings.h"
#include "pdp/token/token_verifier.h"

namespace pdp {

// The raw tokens of one request's chain, and what the enforcement point
// verified about the party that presented them.
struct ChainTokens {
  // The client's OAuth access token: gives the user (sub), the client
  // (client_id or azp), the granted scopes, amr, and the agent (act.sub).
  std::string access_token;
  std::string agent_token;    // The acting agent's own token: sub is its id.
  std::string service_token;  // The service's own token: sub is its id.
  // For `cnf.x5t#S256` (RFC 8705): the client certificate presented to the
  // enforcement point, DER or PEM, or its base64url SHA-256 thumbprint.
  std::string client_certificate;
  std::string client_certificate_sha256;
  // For `cnf.jkt` (RFC 9449): the thumbprint of the DPoP key it verified.
  std::string dpop_jkt;

  bool empty() const {
    return access_token.empty() && agent_token.empty() &&
           service_token.empty();
  }
};

// Verifies `tokens` at time `now` and returns `asserted` completed with the
// identities they carry. Each link comes from a token or an asserted id, not
// both. A token problem never fails the call: it becomes a reason in
// Chain::token_problems (link client for the access token, agent or service
// for theirs) and a rejected token fills no identity, so every decision for
// the chain is DENY. Checked here against the policy: the lifetime (exp -
// iat) against `settings` for the client's trust (agent and service tokens
// against their own maximum), token binding (`cnf`; and unbound tokens of a
// client registered with require_bound_tokens), the agent named by act.sub
// against the agent token, and the delegation's length (nested act claims,
// at most settings.max_delegation_depth agents, else DELEGATION_TOO_DEEP).
// The acting agent (act.sub) becomes agent_id and the agents it acts for
// delegated_agents. When the access token's issuer carries roles
// (roles_claim), they become the chain's roles (Chain::roles_from_idp). A
// service token's scope claim bounds the service's scopes
// (Chain::service_scopes_from_token). Audiences are checked per tool by the
// evaluator (Chain::token_audiences).
// Thread-safe. Returns InvalidArgument, naming the fields, when a link is
// given both as a token and as an asserted id (roles asserted with an access
// token whose issuer says the roles, scopes with a service token included),
// or when the tokens cannot form one chain (an access token with a service
// token).
absl::StatusOr<Chain> ApplyTokens(const Snapshot& snapshot,
                                  const token::TokenVerifier& verifier,
                                  const token::TokenSettings& settings,
                                  const ChainTokens& tokens, Chain asserted,
                                  absl::Time now);

}  // namespace pdp

#endif  // PDP_CHAIN_TOKENS_H_
