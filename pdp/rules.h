#ifndef PDP_RULES_H_
#define PDP_RULES_H_

#include "absl/strings/string_view.h"
#include "pdp/bitset.h"
#include "pdp/snapshot.h"
#include "pdp/v1/authorizer.pb.h"
#include "pdp/v1/policy.pb.h"

// The rules of DESIGN §2 (docs/policy.md, "How a request is decided"), one
// link at a time, written once. Every reader of the rules calls these:
// pdp::Check and pdp::FilterTools (pdp/evaluator.cc), pdp::Explain
// (pdp/explain.cc) for its verdicts, and the decision diff (pdp/diff/),
// which evaluates them over classes of chains instead of one chain.
//
// Each function is a pure function of its arguments: thread-safe.
namespace pdp::rules {

// Step 2: whether role `role` grants `tool`, its inheritance included.
inline bool RoleGrants(const Snapshot& s, int role, int tool) {
  return s.roles()[role].tools.Test(tool);
}

// The data classes members of `role` may receive, its inheritance included.
inline DataMask RoleData(const Snapshot& s, int role) {
  return s.roles()[role].data;
}

// Step 3: whether `agent` has `tool` among its capabilities. A delegation
// may call the tool only if every one of its agents may.
inline bool AgentPermits(const Snapshot& s, int agent, int tool) {
  return s.agents()[agent].tools.Test(tool);
}

// Step 3 (delegation): whether `agent` may act with no human in the loop. A
// delegation may only if every one of its agents may.
inline bool AgentMayActAlone(const Snapshot& s, int agent) {
  return s.agents()[agent].autonomous;
}

// Step 4: whether a client of trust `trust` may call `tool`.
inline bool TrustSuffices(v1::ClientTrust trust, const Snapshot::Tool& tool) {
  return trust >= tool.min_client_trust;
}

// Step 4: whether scope `scope` counts as granted to the chain: within the
// holder's registered ceiling and, when a token speaks for it, in the token.
// (A service chain asserted without a token has its registered scopes.)
inline bool ScopeGranted(const Bitset& ceiling, int scope, bool token_bounds,
                         bool in_token) {
  return ceiling.Test(scope) && (!token_bounds || in_token);
}

// Step 5: the chain-side parts of a deny rule (the tool-side ones are folded
// into DenyRule::tools). Each part the rule does not use holds.
struct RuleParts {
  bool users = true;     // `users`: the chain's user is named.
  bool roles = true;     // `roles`: the user has one of them (inherited too).
  bool agents = true;    // `agents`: some agent of the chain is named.
  bool clients = true;   // `clients` and `client_trust_below`.
  bool services = true;  // `services`: the chain's service is named.
  bool autonomous = true;  // `autonomous`: the chain's autonomy is as given.
};

// Step 5: a rule matches a chain, for a tool in rule.tools, when every part
// it uses holds. Deny always wins.
inline bool RuleHolds(const RuleParts& p) {
  return p.users && p.roles && p.agents && p.clients && p.services &&
         p.autonomous;
}

// The `users` part for a delegated chain of user `user_id` (a service chain
// never satisfies a rule naming users).
inline bool RuleNamesUser(const Snapshot::DenyRule& rule,
                          absl::string_view user_id) {
  return !rule.users || rule.users->contains(user_id);
}

// Whether holding `role` (and what it inherits) satisfies the rule's `roles`
// part; a user satisfies it when one of its roles does.
inline bool RoleInRule(const Snapshot& s, int role,
                       const Snapshot::DenyRule& rule) {
  return rule.roles && s.roles()[role].closure.Intersects(*rule.roles);
}

// Whether `agent` satisfies the rule's `agents` part; a delegation does when
// one of its agents does, wherever in the chain it acts.
inline bool AgentInRule(int agent, const Snapshot::DenyRule& rule) {
  return rule.agents && rule.agents->Test(agent);
}

// The `clients` and `client_trust_below` parts for client `client` (an index
// into Snapshot::clients(), or -1 for a service chain).
inline bool RuleClientPartHolds(const Snapshot& s,
                                const Snapshot::DenyRule& rule, int client) {
  if (rule.clients && !(client >= 0 && rule.clients->Test(client))) {
    return false;
  }
  if (rule.client_trust_below &&
      !(client >= 0 && s.clients()[client].trust < *rule.client_trust_below)) {
    return false;
  }
  return true;
}

// The `services` part for service `service` (-1 for a delegated chain).
inline bool RuleServicePartHolds(const Snapshot::DenyRule& rule, int service) {
  return !rule.services || (service >= 0 && rule.services->Test(service));
}

// The `autonomous` part for a chain decided as `autonomous` or not.
inline bool RuleAutonomyPartHolds(const Snapshot::DenyRule& rule,
                                  bool autonomous) {
  return !rule.autonomous || *rule.autonomous == autonomous;
}

// Whether a chain counts as autonomous (no human in the loop): a service
// chain always; a chain through a client registered `interactive: false`
// (`client`, nullptr when unknown) always; otherwise as the caller says.
inline bool Autonomous(bool service_chain, bool caller_says_autonomous,
                       const Snapshot::Client* client) {
  return service_chain || caller_says_autonomous ||
         (client != nullptr && !client->interactive);
}

// Step 7: an autonomous chain may not call (nor see) a tool whose autonomy is
// forbidden.
inline bool AutonomyForbids(const Snapshot::Tool& tool, bool autonomous) {
  return autonomous && tool.autonomy == v1::AUTONOMY_FORBIDDEN;
}

// Step 6: the strength a session of `session` strength must step up to for
// `tool`, or UNSPECIFIED when it is strong enough. Service chains have no
// session: never.
inline v1::AuthStrength StepUp(const Snapshot::Tool& tool,
                               v1::AuthStrength session) {
  return session < tool.auth ? tool.auth : v1::AUTH_STRENGTH_UNSPECIFIED;
}

// Step 7: whether an autonomous call needs a human's approval: the tool's
// autonomy is `approval`, or some agent of the chain may not act alone.
inline bool NeedsApproval(const Snapshot::Tool& tool, bool autonomous,
                          bool some_agent_needs_a_human) {
  return autonomous && (tool.autonomy == v1::AUTONOMY_APPROVAL ||
                        some_agent_needs_a_human);
}

// Step 8: the data classes to redact from the tool's result, given the
// classes the chain may receive (U.data ∩ every agent's data, or V.data).
inline DataMask Redact(DataMask tool_data, DataMask allowed) {
  return tool_data & ~allowed;
}
inline DataMask Redact(const Snapshot::Tool& tool, DataMask allowed) {
  return Redact(tool.data, allowed);
}

// The precedence DENY > STEP_UP > REQUIRE_APPROVAL > ALLOW: the effect of a
// call that some link denies (`denied`), or needs a step-up (`step_up` not
// UNSPECIFIED), or an approval.
inline v1::Effect CallEffect(bool denied, v1::AuthStrength step_up,
                             bool approval) {
  if (denied) return v1::EFFECT_DENY;
  if (step_up != v1::AUTH_STRENGTH_UNSPECIFIED) return v1::EFFECT_STEP_UP;
  if (approval) return v1::EFFECT_REQUIRE_APPROVAL;
  return v1::EFFECT_ALLOW;
}

// How permissive an effect is: DENY < STEP_UP < REQUIRE_APPROVAL < ALLOW.
inline int Permissiveness(v1::Effect effect) {
  switch (effect) {
    case v1::EFFECT_ALLOW:
      return 3;
    case v1::EFFECT_REQUIRE_APPROVAL:
      return 2;
    case v1::EFFECT_STEP_UP:
      return 1;
    default:
      return 0;
  }
}

}  // namespace pdp::rules

#endif  // PDP_RULES_H_
