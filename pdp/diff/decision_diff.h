#ifndef PDP_DIFF_DECISION_DIFF_H_
#define PDP_DIFF_DECISION_DIFF_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "pdp/snapshot.h"
#include "pdp/v1/authorizer.pb.h"
#include "pdp/v1/policy.pb.h"

namespace pdp {

// How a class of requests is decided by the new policy compared with the old
// one. Permissiveness: DENY < STEP_UP < REQUIRE_APPROVAL < ALLOW; between
// two decisions that are not DENY, showing a data class the other redacts is
// wider, and so is a weaker step-up.
enum class ChangeKind {
  kWiden,   // More permissive in every way that changed.
  kNarrow,  // Less permissive in every way that changed.
  kMixed,   // Wider in one way and narrower in another (e.g. ALLOW with
            // other redactions): it widens, too.
};

// One line of a decision diff: one tool, one class of users (or a service),
// one set of agents, and one pair of decisions, with every client, token
// scope set, authentication strength and autonomy under which a request of
// that class is decided `old_decision` by the old policy and `new_decision`
// by the new one. Ids are indices into the DecisionDiff's id lists (a
// wholesale change of a large policy has hundreds of thousands of changes).
struct DecisionChange {
  ChangeKind kind = ChangeKind::kMixed;
  int tool = 0;  // Into DecisionDiff::tool_ids.
  // Who, exactly one of:
  int service = -1;  // A service chain: into service_ids.
  // Users named in a policy's `users:` (and not known to the directory):
  // into user_ids, ascending.
  std::vector<int> users;
  // Or any user whose roles (from the directory, asserted, or a token's
  // roles claim) are one of each list of `roles` (into role_ids;
  // alternatives that decide alike): a witness of a class of role sets that
  // decide alike. Empty: no roles.
  bool role_set = false;
  std::vector<std::vector<int>> roles;
  std::string user_id;  // With this id (a deny rule names it), or empty: an
                        // id no deny rule names.
  // The chain's agents, one of each list (into agent_ids; a witness of a
  // class of delegations that decide alike). Empty: no agent, or agents that
  // allow everything this tool needs.
  std::vector<std::vector<int>> agents;
  std::vector<int> clients;  // Into client_ids. Empty for a service chain.
  // Token scope sets (into scope_ids): each the scopes, among those the
  // tool requires on either side, that a token carries (any token holding
  // exactly these of them). One per way the scopes matter.
  std::vector<std::vector<int>> token_scopes;
  std::vector<v1::AuthStrength> strengths;  // Empty for a service chain.
  bool autonomous = false;      // Seen for chains with no human in the loop.
  bool not_autonomous = false;  // Seen for chains with a human in the loop.
  v1::Effect old_effect = v1::EFFECT_DENY;
  v1::Effect new_effect = v1::EFFECT_DENY;
  bool redaction_changed = false;
  std::string old_decision;  // "DENY", "ALLOW redact salary", ...
  std::string new_decision;
};

struct DecisionDiff {
  std::vector<DecisionChange> changes;  // Widen, narrow, mixed; by tool.
  // Both policies' ids, merged and sorted.
  std::vector<std::string> tool_ids, role_ids, agent_ids, client_ids,
      service_ids, scope_ids, user_ids;
  int64_t widen = 0;  // Changes of each kind.
  int64_t narrow = 0;
  int64_t mixed = 0;
  // Whether some request is decided more permissively by the new policy:
  // a kWiden or a kMixed change.
  bool Widens() const { return widen + mixed > 0; }
};

// The sentence `pdpctl diff` prints for `change`: who, with which agents,
// through which clients, tokens, strengths and autonomy, and what changed
// ("gain", "lose", "redact less of", "need a weaker step-up for", ...).
std::string DescribeChange(const DecisionDiff& diff,
                           const DecisionChange& change);

struct DiffOptions {
  // The most agents one chain may name (the acting agent and the agents of
  // the delegation it acts for): the token settings' max_delegation_depth.
  int max_chain_agents = 4;
  // The most classes of role sets, or of agent sets, kept for one tool.
  // Beyond it DiffPolicies fails rather than guess.
  int max_classes = 1 << 16;
};

// Compares the call decisions (pdp::Check, action call) of the two policies
// over every request either can receive, exactly, by classes of requests
// that decide alike on both sides: every role set a user can hold (from the
// directory, asserted, or a roles claim; role ids as each policy defines
// them), every user named in either policy's `users:`, every user id a deny
// rule names, every client, every set of up to max_chain_agents agents (and
// none), every token scope set, every authentication strength, autonomous or
// not; and every service, with its registered scopes or any token's. Tools
// and every other id are matched by id. Not compared: token audiences
// (`servers:`) and token problems, which no policy edit of a tool changes
// for a chain that has no tokens; user ids the directory deleted (unknown
// on both sides).
//
// Returns ResourceExhausted when a tool needs more than
// options.max_classes classes, or more than 64 deny rules or 61 data
// classes bear on one tool. Pure; thread-compatible.
absl::StatusOr<DecisionDiff> DiffPolicies(const Snapshot& old_policy,
                                          const Snapshot& new_policy,
                                          const DiffOptions& options = {});

}  // namespace pdp

#endif  // PDP_DIFF_DECISION_DIFF_H_
