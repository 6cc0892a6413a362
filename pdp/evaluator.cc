#include "pdp/evaluator.h"

#include <algorithm>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pdp/names.h"
#include "pdp/quote.h"
#include "pdp/rules.h"

namespace pdp {
namespace {

// The user of a delegated chain as the policy sees it: from the policy's
// users (precomputed), or from roles the caller asserted or the directory
// holds.
struct UserView {
  bool known = false;
  const Snapshot::User* user = nullptr;  // When from the policy.
  std::vector<int> asserted;             // Role indices, otherwise.

  // Interns role ids; ids the policy does not define grant nothing.
  template <typename Ids>
  void SetRoles(const Snapshot& s, const Ids& ids) {
    known = true;
    for (const auto& id : ids) {
      int index = s.FindRole(id);
      if (index >= 0) asserted.push_back(index);
    }
  }

  bool MayCall(const Snapshot& s, int tool) const {
    if (user != nullptr) return user->tools.Test(tool);
    for (int r : asserted) {
      if (rules::RoleGrants(s, r, tool)) return true;
    }
    return false;
  }
  // Whether some role of the user satisfies the `roles` part of `rule`.
  bool InRule(const Snapshot& s, const Snapshot::DenyRule& rule) const {
    if (user != nullptr) return user->role_closure.Intersects(*rule.roles);
    for (int r : asserted) {
      if (rules::RoleInRule(s, r, rule)) return true;
    }
    return false;
  }
  DataMask Data(const Snapshot& s) const {
    if (user != nullptr) return user->data;
    DataMask data = 0;
    for (int r : asserted) data |= rules::RoleData(s, r);
    return data;
  }
  // Removes from `candidates`, a set within words [wb, we), the tools no
  // role of the user grants.
  void Restrict(const Snapshot& s, Bitset& candidates, size_t wb,
                size_t we) const {
    if (user != nullptr) return candidates.AndWith(user->tools, wb, we);
    Bitset tools(s.tools().size());
    for (int r : asserted) tools.OrWith(s.roles()[r].tools);
    candidates.AndWith(tools, wb, we);
  }
  std::string RoleNames(const Snapshot& s) const {
    std::vector<std::string> names;
    for (int r : user != nullptr ? user->roles : asserted) {
      names.push_back(s.roles()[r].id);
    }
    return names.empty() ? "no roles" : absl::StrJoin(names, ", ");
  }
};

// A chain resolved against the snapshot, once per request.
struct Resolved {
  const Chain* chain = nullptr;
  bool service_chain = false;
  int client = -1;
  // The chain's agents (AgentIds), each an index or -1 when unknown.
  absl::InlinedVector<int, 4> agents;
  int service = -1;
  UserView user;
  v1::AuthStrength strength = v1::AUTH_STRENGTH_PASSWORD;
  // No human in the loop: a service, a client registered not interactive,
  // or the caller says so.
  bool autonomous = false;
  // True when a link is unknown: nothing is visible, everything is DENY.
  bool unknown_link = false;
};

// IsAutonomous() for a chain whose client index (-1: none or unknown) is
// already found.
bool Autonomous(const Snapshot& s, const Chain& chain, int client) {
  return rules::Autonomous(!chain.service_id.empty(), chain.autonomous,
                           client >= 0 ? &s.clients()[client] : nullptr);
}

// The chain's agents, the acting one first: agent_id, then every agent of
// the delegation it acts for.
using AgentIdList = absl::InlinedVector<absl::string_view, 4>;

AgentIdList AgentIds(const Chain& chain) {
  AgentIdList ids;
  if (chain.agent_id.empty()) return ids;
  ids.push_back(chain.agent_id);
  ids.insert(ids.end(), chain.delegated_agents.begin(),
             chain.delegated_agents.end());
  return ids;
}

// "agent "x"", and which hop of a delegation it is when there are several.
std::string AgentName(const AgentIdList& ids, size_t i) {
  std::string name = absl::StrCat("agent ", Quote(ids[i]));
  if (ids.size() > 1) {
    absl::StrAppend(&name, " (delegation hop ", i + 1, " of ", ids.size(), ")");
  }
  return name;
}

Resolved Resolve(const Snapshot& s, const Chain& chain,
                 const UserSource* directory) {
  Resolved r;
  r.chain = &chain;
  if (!chain.service_id.empty()) {
    r.service_chain = true;
    r.service = s.FindService(chain.service_id);
    r.autonomous = true;
    r.unknown_link = r.service < 0;
    return r;
  }
  r.client = s.FindClient(chain.client_id);
  // The directory revokes: a tombstone makes the user unknown whatever
  // else names its roles.
  DirectoryEntry listed;
  if (directory != nullptr) listed = directory->Find(chain.user_id);
  if (listed.deleted) {
    // Unknown.
  } else if (!chain.asserted_roles.empty() || chain.roles_from_idp) {
    r.user.SetRoles(s, chain.asserted_roles);
  } else if (listed.user != nullptr) {
    r.user.SetRoles(s, listed.user->roles());
  } else if (int u = s.FindUser(chain.user_id); u >= 0) {
    r.user.known = true;
    r.user.user = &s.users()[u];
  }
  bool unknown_agent = false;
  for (absl::string_view id : AgentIds(chain)) {
    r.agents.push_back(s.FindAgent(id));
    unknown_agent |= r.agents.back() < 0;
  }
  r.strength = StrengthFromAmr(chain.amr);
  r.autonomous = Autonomous(s, chain, r.client);
  r.unknown_link = r.client < 0 || !r.user.known || unknown_agent;
  return r;
}

// Whether the chain-side conditions of `rule` hold; tool-side ones are in
// rule.tools.
bool RuleMatchesChain(const Snapshot& s, const Snapshot::DenyRule& rule,
                      const Resolved& r) {
  const bool delegated = !r.service_chain;
  // rules::RuleHolds over the parts, each part computed only while the
  // ones before it hold (a decision meets a rule's cheap parts first).
  if (rule.users &&
      !(delegated && rules::RuleNamesUser(rule, r.chain->user_id))) {
    return false;
  }
  if (rule.roles && !(delegated && r.user.InRule(s, rule))) return false;
  if (rule.agents &&
      std::none_of(r.agents.begin(), r.agents.end(), [&](int a) {
        return a >= 0 && rules::AgentInRule(a, rule);
      })) {
    return false;
  }
  return rules::RuleClientPartHolds(s, rule, r.client) &&
         rules::RuleServicePartHolds(rule, r.service) &&
         rules::RuleAutonomyPartHolds(rule, r.autonomous);
}

void Add(Decision& d, v1::Link link, v1::Reason::Code code,
         std::string message) {
  Reason reason;
  reason.link = link;
  reason.code = code;
  reason.message = std::move(message);
  d.reasons.push_back(std::move(reason));
}

// The tool's scopes the chain lacks, by name.
std::vector<std::string> MissingScopes(const Snapshot& s, const Resolved& r,
                                       const Snapshot::Tool& tool) {
  std::vector<std::string> missing;
  for (int scope : tool.scopes) {
    const std::string& name = s.scopes()[scope];
    const auto& token = r.chain->scopes;
    const bool in_token =
        std::find(token.begin(), token.end(), name) != token.end();
    const bool granted =
        r.service_chain
            ? rules::ScopeGranted(s.services()[r.service].scopes, scope,
                                  r.chain->service_scopes_from_token, in_token)
            : rules::ScopeGranted(s.clients()[r.client].scopes, scope,
                                  /*token_bounds=*/true, in_token);
    if (!granted) missing.push_back(name);
  }
  return missing;
}

void AddMissingScopes(const Snapshot& s, const Resolved& r, int t,
                      Decision& d) {
  const Snapshot::Tool& tool = s.tools()[t];
  std::vector<std::string> missing = MissingScopes(s, r, tool);
  if (missing.empty()) return;
  std::string message;
  if (r.service_chain && !r.chain->service_scopes_from_token) {
    message = absl::StrCat("service ", Quote(r.chain->service_id),
                           " lacks scope(s) ", absl::StrJoin(missing, ", "),
                           " required by ", Quote(tool.id));
  } else {
    // A token's scopes, within the registered ceiling of its holder.
    const Bitset& ceiling = r.service_chain
                                ? s.services()[r.service].scopes
                                : s.clients()[r.client].scopes;
    std::vector<std::string> beyond_ceiling;
    for (const std::string& scope : missing) {
      if (!ceiling.Test(s.FindScope(scope))) beyond_ceiling.push_back(scope);
    }
    message = absl::StrCat(
        "the token of ", r.service_chain ? "service " : "client ",
        Quote(r.service_chain ? r.chain->service_id : r.chain->client_id),
        " lacks scope(s) ", absl::StrJoin(missing, ", "), " required by ",
        Quote(tool.id));
    if (!beyond_ceiling.empty()) {
      absl::StrAppend(&message, " (", absl::StrJoin(beyond_ceiling, ", "),
                      r.service_chain
                          ? " not in the service's registered scopes)"
                          : " not in the client's registered scopes)");
    }
  }
  Add(d, r.service_chain ? v1::LINK_SERVICE : v1::LINK_CLIENT,
      v1::Reason::MISSING_SCOPE, std::move(message));
  d.reasons.back().missing_scopes = std::move(missing);
}

// Whether every token of the chain was issued for `server`.
bool AcceptsAll(const Snapshot::Server& server, const Chain& chain) {
  for (const TokenAudience& token : chain.token_audiences) {
    if (!server.Accepts(token.audiences)) return false;
  }
  return true;
}

void AddAudienceMismatches(const Snapshot& s, const Chain& chain,
                           const Snapshot::Tool& tool, Decision& d) {
  const Snapshot::Server& server = *s.FindServer(tool.server);
  for (const TokenAudience& token : chain.token_audiences) {
    if (server.Accepts(token.audiences)) continue;
    Add(d, token.link, v1::Reason::TOKEN_AUDIENCE_MISMATCH,
        absl::StrCat(TokenName(token.link), " was not issued for MCP server ",
                     Quote(server.id), " (its audience must include ",
                     absl::StrJoin(server.audiences, " or "), ")"));
  }
}

// Steps 1-5 of DESIGN §2 and, for autonomous chains, the autonomy ban:
// appends a reason for every failing link.
void AddDenials(const Snapshot& s, const Resolved& r, int t,
                absl::string_view tool_id, Decision& d) {
  const Chain& chain = *r.chain;
  d.reasons.insert(d.reasons.end(), chain.token_problems.begin(),
                   chain.token_problems.end());
  if (t < 0) {
    Add(d, v1::LINK_TOOL, v1::Reason::TOOL_UNKNOWN,
        absl::StrCat("tool ", Quote(tool_id), " is not in the policy"));
  }
  if (r.service_chain) {
    if (r.service < 0) {
      Add(d, v1::LINK_SERVICE, v1::Reason::SERVICE_UNKNOWN,
          absl::StrCat("service ", Quote(chain.service_id),
                       " is not in the policy"));
    }
  } else {
    if (r.client < 0) {
      Add(d, v1::LINK_CLIENT, v1::Reason::CLIENT_NOT_REGISTERED,
          absl::StrCat("client ", Quote(chain.client_id),
                       " is not registered"));
    }
    if (!r.user.known) {
      Add(d, v1::LINK_USER, v1::Reason::USER_UNKNOWN,
          absl::StrCat("user ", Quote(chain.user_id), " is not known"));
    }
    for (size_t i = 0; i < r.agents.size(); ++i) {
      if (r.agents[i] >= 0) continue;
      Add(d, v1::LINK_AGENT, v1::Reason::AGENT_UNKNOWN,
          absl::StrCat(AgentName(AgentIds(chain), i), " is not in the policy"));
    }
  }
  if (t < 0) return;
  const Snapshot::Tool& tool = s.tools()[t];
  AddAudienceMismatches(s, chain, tool, d);

  if (r.service_chain) {
    if (r.service >= 0) {
      if (!s.services()[r.service].tools.Test(t)) {
        Add(d, v1::LINK_SERVICE, v1::Reason::SERVICE_NOT_PERMITTED,
            absl::StrCat("service ", Quote(chain.service_id), " does not have ",
                         Quote(tool.id), " among its tools"));
      }
      AddMissingScopes(s, r, t, d);
    }
  } else {
    if (r.user.known && !r.user.MayCall(s, t)) {
      Add(d, v1::LINK_USER, v1::Reason::USER_NOT_PERMITTED,
          absl::StrCat("no role of user ", Quote(chain.user_id), " (",
                       r.user.RoleNames(s), ") grants ", Quote(tool.id)));
    }
    for (size_t i = 0; i < r.agents.size(); ++i) {
      const int a = r.agents[i];
      if (a < 0 || rules::AgentPermits(s, a, t)) continue;
      Add(d, v1::LINK_AGENT, v1::Reason::AGENT_NOT_PERMITTED,
          absl::StrCat(AgentName(AgentIds(chain), i), " does not have ",
                       Quote(tool.id), " among its capabilities"));
    }
    if (r.client >= 0) {
      AddMissingScopes(s, r, t, d);
      const Snapshot::Client& client = s.clients()[r.client];
      if (!rules::TrustSuffices(client.trust, tool)) {
        Add(d, v1::LINK_CLIENT, v1::Reason::CLIENT_TRUST_TOO_LOW,
            absl::StrCat("client ", Quote(client.id), " is trusted as ",
                         ClientTrustName(client.trust), "; ", Quote(tool.id),
                         " requires at least ",
                         ClientTrustName(tool.min_client_trust)));
      }
    }
  }
  for (const Snapshot::DenyRule& rule : s.deny_rules()) {
    if (!rule.tools.Test(t) || !RuleMatchesChain(s, rule, r)) continue;
    std::string message = absl::StrCat("deny rule ", Quote(rule.id), " matches");
    if (!rule.description.empty()) absl::StrAppend(&message, ": ", rule.description);
    Add(d, v1::LINK_RULE, v1::Reason::RULE, std::move(message));
    d.reasons.back().rule_id = rule.id;
  }
  if (rules::AutonomyForbids(tool, r.autonomous)) {
    Add(d, v1::LINK_TOOL, v1::Reason::AUTONOMY_FORBIDDEN,
        absl::StrCat(Quote(tool.id),
                     " may not be called with no human in the loop"));
  }
}

// The data classes the chain may receive: V.data for services, U.data and
// every agent's data with agents, U.data without. A call redacts the rest
// of T.data.
DataMask AllowedData(const Snapshot& s, const Resolved& r) {
  if (r.service_chain) return s.services()[r.service].data;
  DataMask allowed = r.user.Data(s);
  for (int a : r.agents) allowed &= s.agents()[a].data;
  return allowed;
}

// Whether some agent of the chain may not act with no human in the loop.
bool SomeAgentNeedsAHuman(const Snapshot& s, const Resolved& r) {
  return std::any_of(r.agents.begin(), r.agents.end(),
                     [&](int a) { return !rules::AgentMayActAlone(s, a); });
}

bool NeedsApproval(const Snapshot& s, const Resolved& r, int t) {
  return rules::NeedsApproval(s.tools()[t], r.autonomous,
                             r.autonomous && SomeAgentNeedsAHuman(s, r));
}

v1::AuthStrength StepUp(const Snapshot& s, const Resolved& r, int t) {
  if (r.service_chain) return v1::AUTH_STRENGTH_UNSPECIFIED;
  return rules::StepUp(s.tools()[t], r.strength);
}

absl::Status ValidateRequest(const Request& request) {
  if (absl::Status status = ValidateChain(request.chain); !status.ok()) {
    return status;
  }
  if (request.tool_id.empty()) {
    return absl::InvalidArgumentError("tool_id is empty: name the tool to check");
  }
  return absl::OkStatus();
}

}  // namespace

bool IsAutonomous(const Snapshot& s, const Chain& chain) {
  return Autonomous(s, chain, s.FindClient(chain.client_id));
}

absl::Status ValidateChain(const Chain& chain) {
  if (!chain.service_id.empty()) {
    std::vector<std::string> extra;
    if (!chain.user_id.empty()) extra.push_back("user_id");
    if (!chain.client_id.empty()) extra.push_back("client_id");
    if (!chain.agent_id.empty()) extra.push_back("agent_id");
    if (!chain.delegated_agents.empty()) extra.push_back("delegated_agents");
    if (!chain.asserted_roles.empty()) extra.push_back("asserted_roles");
    if (!chain.amr.empty()) extra.push_back("amr");
    if (!extra.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "malformed identity chain: chain.service_id is set together with "
          "chain.",
          absl::StrJoin(extra, ", chain."),
          "; a chain is either a service alone or a user and a client"));
    }
    return absl::OkStatus();
  }
  if (chain.user_id.empty() || chain.client_id.empty()) {
    const char* missing = chain.user_id.empty() && chain.client_id.empty()
                              ? "chain.user_id and chain.client_id are"
                          : chain.user_id.empty() ? "chain.user_id is"
                                                  : "chain.client_id is";
    return absl::InvalidArgumentError(absl::StrCat(
        "malformed identity chain: ", missing,
        " empty; a chain is either a user and a client (optionally an "
        "agent) or a service alone"));
  }
  if (chain.agent_id.empty() && !chain.delegated_agents.empty()) {
    return absl::InvalidArgumentError(
        "malformed identity chain: chain.delegated_agents without "
        "chain.agent_id, the agent acting for them");
  }
  return absl::OkStatus();
}

absl::StatusOr<Decision> Check(const Snapshot& s, const Request& request,
                               const UserSource* directory) {
  if (absl::Status status = ValidateRequest(request); !status.ok()) {
    // A chain whose tokens were rejected has no identities to decide on.
    if (request.chain.token_problems.empty() || request.tool_id.empty()) {
      return status;
    }
    Decision d;
    d.reasons = request.chain.token_problems;
    return d;
  }
  const Resolved r = Resolve(s, request.chain, directory);
  const int t = s.FindTool(request.tool_id);
  Decision d;
  AddDenials(s, r, t, request.tool_id, d);
  if (!d.reasons.empty()) {
    d.effect = v1::EFFECT_DENY;
    return d;
  }
  d.redact = rules::Redact(s.tools()[t], AllowedData(s, r));
  d.effect = v1::EFFECT_ALLOW;
  if (request.action == Action::kSee) return d;

  const Snapshot::Tool& tool = s.tools()[t];
  if (v1::AuthStrength required = StepUp(s, r, t);
      required != v1::AUTH_STRENGTH_UNSPECIFIED) {
    d.effect = v1::EFFECT_STEP_UP;
    d.step_up = required;
    Add(d, v1::LINK_USER, v1::Reason::STEP_UP_REQUIRED,
        absl::StrCat(Quote(tool.id), " requires ", AuthStrengthName(required),
                     " authentication; the user's session has ",
                     AuthStrengthName(r.strength)));
    return d;
  }
  if (NeedsApproval(s, r, t)) {
    d.effect = v1::EFFECT_REQUIRE_APPROVAL;
    if (tool.autonomy == v1::AUTONOMY_APPROVAL) {
      Add(d, v1::LINK_TOOL, v1::Reason::APPROVAL_REQUIRED,
          absl::StrCat(Quote(tool.id),
                       " needs a human's approval when called with no human "
                       "in the loop"));
    }
    for (size_t i = 0; i < r.agents.size(); ++i) {
      if (rules::AgentMayActAlone(s, r.agents[i])) continue;
      Add(d, v1::LINK_AGENT, v1::Reason::APPROVAL_REQUIRED,
          absl::StrCat(AgentName(AgentIds(request.chain), i),
                       " may not act with no human in the loop"));
    }
  }
  return d;
}

absl::StatusOr<std::vector<Decision>> BatchCheck(
    const Snapshot& snapshot, const std::vector<Request>& requests,
    const UserSource* directory) {
  std::vector<Decision> decisions;
  decisions.reserve(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    absl::StatusOr<Decision> decision = Check(snapshot, requests[i], directory);
    if (!decision.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("checks[", i, "]: ", decision.status().message()));
    }
    decisions.push_back(*std::move(decision));
  }
  return decisions;
}

absl::StatusOr<std::vector<VisibleTool>> FilterTools(
    const Snapshot& s, const Chain& chain, const ToolSelection& selection,
    const UserSource* directory) {
  if (selection.server_id.empty() == selection.tool_ids.empty()) {
    return absl::InvalidArgumentError(
        "give exactly one of server_id (all its tools) or tool_ids");
  }
  std::vector<VisibleTool> visible;
  if (!chain.token_problems.empty()) return visible;
  if (absl::Status status = ValidateChain(chain); !status.ok()) return status;
  const Resolved r = Resolve(s, chain, directory);
  if (r.unknown_link) return visible;

  // The selection, and the words [wb, we) it spans: every later operation
  // stays within them.
  Bitset candidates(s.tools().size());
  size_t wb = 0, we = 0;
  if (!selection.server_id.empty()) {
    const Snapshot::Server* server = s.FindServer(selection.server_id);
    if (server == nullptr) return visible;
    candidates.SetRange(server->begin, server->end);
    wb = server->begin / 64;
    we = (server->end + 63) / 64;
  } else {
    size_t lo = s.tools().size(), hi = 0;
    for (const std::string& id : selection.tool_ids) {
      int t = s.FindTool(id);
      if (t < 0) continue;
      candidates.Set(t);
      lo = std::min(lo, static_cast<size_t>(t));
      hi = std::max(hi, static_cast<size_t>(t) + 1);
    }
    if (hi == 0) return visible;
    wb = lo / 64;
    we = (hi + 63) / 64;
  }

  if (r.service_chain) {
    candidates.AndWith(s.services()[r.service].tools, wb, we);
  } else {
    r.user.Restrict(s, candidates, wb, we);
    for (int a : r.agents) candidates.AndWith(s.agents()[a].tools, wb, we);
    candidates.AndWith(s.ToolsForTrust(s.clients()[r.client].trust), wb, we);
  }
  if (r.autonomous) candidates.AndNotWith(s.AutonomyForbidden(), wb, we);
  for (const Snapshot::DenyRule& rule : s.deny_rules()) {
    if (RuleMatchesChain(s, rule, r)) candidates.AndNotWith(rule.tools, wb, we);
  }

  // Scopes last: per tool, over the few it requires.
  const Bitset& ceiling = r.service_chain ? s.services()[r.service].scopes
                                           : s.clients()[r.client].scopes;
  Bitset token_scopes;
  const Bitset* granted = &ceiling;
  if (!r.service_chain || chain.service_scopes_from_token) {
    token_scopes = Bitset(s.scopes().size());
    for (const std::string& name : chain.scopes) {
      int scope = s.FindScope(name);
      if (scope >= 0 && ceiling.Test(scope)) token_scopes.Set(scope);
    }
    granted = &token_scopes;
  }
  const DataMask allowed = AllowedData(s, r);
  visible.reserve(std::min<size_t>((we - wb) * 64, 1024));
  // Tools are sorted by id, so a server's audience check is done once.
  const Snapshot::Server* server = nullptr;
  bool server_accepted = true;
  candidates.ForEach([&](size_t t) {
    const Snapshot::Tool& tool = s.tools()[t];
    if (!chain.token_audiences.empty()) {
      if (server == nullptr || server->id != tool.server) {
        server = s.FindServer(tool.server);
        server_accepted = AcceptsAll(*server, chain);
      }
      if (!server_accepted) return;
    }
    for (int scope : tool.scopes) {
      if (!granted->Test(scope)) return;
    }
    VisibleTool v;
    v.tool = static_cast<int>(t);
    v.requires_approval = NeedsApproval(s, r, v.tool);
    v.step_up = StepUp(s, r, v.tool);
    v.redact = rules::Redact(tool, allowed);
    visible.push_back(v);
  });
  return visible;
}

}  // namespace pdp
