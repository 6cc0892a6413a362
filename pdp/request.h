#ifndef PDP_REQUEST_H_
#define PDP_REQUEST_H_

#include <string>
#include <vector>

namespace pdp {

// One request's identities: a delegated chain (user_id and client_id, with an
// optional agent_id) or a service chain (service_id alone). The evaluator
// refuses anything else with InvalidArgument.
struct Chain {
  std::string user_id;
  // Roles asserted by the caller. When non-empty they replace the user's
  // roles from the policy; the server clears them for callers that are not
  // trusted to assert roles.
  std::vector<std::string> asserted_roles;
  std::vector<std::string> amr;  // RFC 8176 values of the user's session.
  std::string client_id;
  std::vector<std::string> scopes;  // Granted to the client's token.
  std::string agent_id;
  std::string service_id;
  bool autonomous = false;  // No human in the loop. Services always are.
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
