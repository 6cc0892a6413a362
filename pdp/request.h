#ifndef PDP_REQUEST_H_
#define PDP_REQUEST_H_

#include <string>
#include <vector>

#include "pdp/decision.h"

namespace pdp {

// The audiences one verified token of a chain was issued for: a tool is
// decided for this chain only if its server accepts one of them.
struct TokenAudience {
  v1::Link link = v1::LINK_UNSPECIFIED;  // The link the token speaks for.
  std::vector<std::string> audiences;
};

// One request's identities: a delegated chain (user_id and client_id, with an
// optional agent_id) or a service chain (service_id alone). The evaluator
// refuses anything else with InvalidArgument.
//
// Identities may come from verified tokens (pdp/chain_tokens.h), which also
// fill the token_* members; a chain built from asserted ids leaves them empty.
struct Chain {
  std::string user_id;
  // Roles asserted by the caller. When non-empty they replace the user's
  // roles from the policy; the server clears them for callers that are not
  // trusted to assert roles.
  std::vector<std::string> asserted_roles;
  // The identity provider said the user's roles (its token's roles claim,
  // mapped to policy roles, in asserted_roles): they replace the
  // directory's and the policy's even when there are none.
  bool roles_from_idp = false;
  std::vector<std::string> amr;  // RFC 8176 values of the user's session.
  std::string client_id;
  std::vector<std::string> scopes;  // Granted to the client's token.
  std::string agent_id;
  // The earlier agents of a delegation (the access token's nested act
  // claims, RFC 8693): agent_id acts for delegated_agents[0], which acts for
  // delegated_agents[1], and so on back to the one acting for the user. The
  // chain may do only what every one of its agents may.
  std::vector<std::string> delegated_agents;
  std::string service_id;
  // The service chain came from a verified service token: its scope claim
  // (in `scopes`) bounds the service's registered scopes. For an asserted
  // service id, `scopes` is ignored.
  bool service_scopes_from_token = false;
  // No human in the loop, as the caller says. Services, and chains through
  // a client registered `interactive: false`, always are.
  bool autonomous = false;
  // Problems found verifying the chain's tokens: each is a DENY reason of
  // every decision for this chain. A rejected token fills no identity.
  std::vector<Reason> token_problems;
  // One entry per verified token.
  std::vector<TokenAudience> token_audiences;
};

enum class Action { kCall, kSee };

struct Request {
  Chain chain;
  std::string tool_id;
  Action action = Action::kCall;
};

// The tools a FilterTools request asks about: one server's, or a list.
struct ToolSelection {
  std::string server_id;              // Exactly one of server_id
  std::vector<std::string> tool_ids;  // or tool_ids.
};

}  // namespace pdp

#endif  // PDP_REQUEST_H_
