#include "pdp/explain.h"

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pdp/glob.h"
#include "pdp/names.h"
#include "pdp/rules.h"

namespace pdp {
namespace {

// Collects the lines of one explanation.
class Lines {
 public:
  explicit Lines(const ExplainOptions& options) : options_(options) {}

  void Add(v1::Link link, int depth, std::string text) {
    lines_.push_back({link, depth, std::move(text)});
  }

  // "dir/file:line" for a policy element, or its list item `item`
  // ("tools[2]").
  std::string Where(const v1::Source& source,
                    const std::string& item = "") const {
    int line = source.line();
    if (!item.empty()) {
      auto it = source.item_lines().find(item);
      if (it != source.item_lines().end()) line = it->second;
    }
    std::string file = source.file();
    if (!options_.source_dir.empty()) {
      file = absl::StrCat(options_.source_dir, "/", file);
    }
    return line > 0 ? absl::StrCat(file, ":", line) : file;
  }

  // The first of `globs` matching `tool`, as "glob \"x\" (file:line)", or "".
  std::string MatchingGlob(
      const google::protobuf::RepeatedPtrField<std::string>& globs,
      const v1::Source& source, const std::string& tool) const {
    for (int i = 0; i < globs.size(); ++i) {
      if (GlobMatch(globs[i], tool)) {
        return absl::StrCat("glob \"", globs[i], "\" (",
                            Where(source, absl::StrCat("tools[", i, "]")), ")");
      }
    }
    return "";
  }

  const ExplainOptions& options() const { return options_; }
  std::vector<ExplainLine> Take() { return std::move(lines_); }

 private:
  const ExplainOptions& options_;
  std::vector<ExplainLine> lines_;
};

template <typename T>
const T* FindById(const google::protobuf::RepeatedPtrField<T>& items,
                  const std::string& id) {
  for (const T& item : items) {
    if (item.id() == id) return &item;
  }
  return nullptr;
}

std::string Words(const std::vector<std::string>& words) {
  return words.empty() ? "none" : absl::StrJoin(words, ", ");
}

// How the user's roles grant the tool: one line per granting role, with the
// inheritance path from a role the user holds.
void ExplainUser(const Snapshot& s, const Chain& chain, const std::string& tool,
                 Lines& out) {
  const int t = s.FindTool(tool);
  DirectoryEntry from_directory;
  if (out.options().users != nullptr) {
    from_directory = out.options().users->Find(chain.user_id);
  }
  if (from_directory.deleted) {
    out.Add(v1::LINK_USER, 0,
            absl::StrCat("user ", chain.user_id,
                         ": deleted from the directory (unknown until "
                         "upserted again, whatever the policy, the caller "
                         "or the identity provider says)"));
    return;
  }
  std::vector<std::string> held = chain.asserted_roles;
  if (chain.roles_from_idp) {
    out.Add(v1::LINK_USER, 0,
            absl::StrCat("user ", chain.user_id,
                         ": roles from the identity provider's token ",
                         Words(held)));
  } else if (held.empty()) {
    const v1::User* user = from_directory.user != nullptr
                               ? from_directory.user.get()
                               : FindById(s.bundle().users(), chain.user_id);
    if (user == nullptr) {
      out.Add(v1::LINK_USER, 0,
              absl::StrCat("user ", chain.user_id,
                           ": not in the policy (no roles)"));
      return;
    }
    held.assign(user->roles().begin(), user->roles().end());
    out.Add(v1::LINK_USER, 0,
            absl::StrCat("user ", chain.user_id, " (",
                         from_directory.user != nullptr ? "the directory"
                                                   : out.Where(user->source()),
                         "): roles ", Words(held)));
  } else {
    out.Add(
        v1::LINK_USER, 0,
        absl::StrCat("user ", chain.user_id, ": asserted roles ", Words(held)));
  }
  // Breadth first from the held roles: the shortest inheritance path.
  std::map<std::string, std::vector<std::string>> path;
  std::deque<std::string> queue;
  for (const std::string& r : held) {
    if (path.emplace(r, std::vector<std::string>{r}).second) queue.push_back(r);
  }
  int granting = 0;
  while (!queue.empty()) {
    const std::string id = queue.front();
    queue.pop_front();
    const v1::Role* role = FindById(s.bundle().roles(), id);
    const int r = s.FindRole(id);
    if (role == nullptr || r < 0) continue;
    // The verdict is the rules' (pdp/rules.h); the glob only says where.
    std::string glob = out.MatchingGlob(role->tools(), role->source(), tool);
    if (t >= 0 && rules::RoleGrants(s, r, t) && !glob.empty()) {
      ++granting;
      const std::vector<std::string>& p = path[id];
      std::string text = absl::StrCat("granted by role ", id, " (",
                                      out.Where(role->source()), ")");
      if (p.size() > 1) {
        absl::StrAppend(&text, " inherited via ", absl::StrJoin(p, " -> "));
      }
      absl::StrAppend(&text, ": ", glob);
      out.Add(v1::LINK_USER, 1, std::move(text));
    }
    for (const std::string& parent : role->inherits()) {
      if (path.count(parent) > 0) continue;
      std::vector<std::string> p = path[id];
      p.push_back(parent);
      path.emplace(parent, std::move(p));
      queue.push_back(parent);
    }
  }
  if (granting == 0) {
    out.Add(v1::LINK_USER, 1,
            absl::StrCat("no role of the user grants ", tool));
  }
}

void ExplainService(const Snapshot& s, const Chain& chain,
                    const std::string& tool_id,
                    const std::vector<std::string>& tool_scopes, Lines& out) {
  const v1::Service* service =
      FindById(s.bundle().services(), chain.service_id);
  const int v = s.FindService(chain.service_id);
  if (service == nullptr || v < 0) {
    out.Add(v1::LINK_SERVICE, 0,
            absl::StrCat("service ", chain.service_id, ": not in the policy"));
    return;
  }
  std::string glob =
      out.MatchingGlob(service->tools(), service->source(), tool_id);
  if (!s.services()[v].tools.Test(s.FindTool(tool_id))) glob.clear();
  out.Add(v1::LINK_SERVICE, 0,
          absl::StrCat(
              "service ", chain.service_id, " (", out.Where(service->source()),
              "): ", glob.empty() ? "no glob of its tools matches" : glob));
  std::vector<std::string> held, missing;
  for (const std::string& scope : tool_scopes) {
    (rules::ScopeGranted(s.services()[v].scopes, s.FindScope(scope),
                         /*token_bounds=*/false, /*in_token=*/false)
         ? held
         : missing)
        .push_back(scope);
  }
  out.Add(v1::LINK_SERVICE, 1,
          absl::StrCat("scopes held: ", Words(held),
                       "; missing: ", Words(missing)));
  if (chain.service_scopes_from_token) {
    std::vector<std::string> in_token, not_in_token;
    for (const std::string& scope : tool_scopes) {
      const bool token = std::find(chain.scopes.begin(), chain.scopes.end(),
                                   scope) != chain.scopes.end();
      (token ? in_token : not_in_token).push_back(scope);
    }
    out.Add(v1::LINK_SERVICE, 1,
            absl::StrCat("tool scopes in the service's token: ",
                         Words(in_token), "; not: ", Words(not_in_token)));
  }
}

// Each agent of the chain, the acting one first; for the agents of a
// delegation, what each hop removes from what the hops before it allowed
// (the tool, data classes, acting autonomously).
void ExplainAgents(const Snapshot& s, const Chain& chain,
                   const Snapshot::Tool& st, const std::string& tool_id,
                   Lines& out) {
  if (chain.agent_id.empty()) {
    out.Add(v1::LINK_AGENT, 0, "agent: none");
    return;
  }
  std::vector<std::string> ids = {chain.agent_id};
  ids.insert(ids.end(), chain.delegated_agents.begin(),
             chain.delegated_agents.end());
  bool tool_allowed = true, autonomous = true;
  DataMask data = ~DataMask{0};
  for (size_t i = 0; i < ids.size(); ++i) {
    const std::string hop =
        ids.size() > 1
            ? absl::StrCat(" (delegation hop ", i + 1, " of ", ids.size(), ")")
            : "";
    const v1::Agent* agent = FindById(s.bundle().agents(), ids[i]);
    const int a = s.FindAgent(ids[i]);
    if (agent == nullptr || a < 0) {
      out.Add(v1::LINK_AGENT, 0,
              absl::StrCat("agent ", ids[i], hop, ": not in the policy"));
      continue;
    }
    const Snapshot::Agent& sa = s.agents()[a];
    const bool permits = rules::AgentPermits(s, a, s.FindTool(tool_id));
    const bool alone_here = rules::AgentMayActAlone(s, a);
    std::string glob =
        permits ? out.MatchingGlob(agent->tools(), agent->source(), tool_id)
                : "";
    out.Add(v1::LINK_AGENT, 0,
            absl::StrCat("agent ", ids[i], hop, " (",
                         out.Where(agent->source()), "): ",
                         glob.empty() ? "no glob of its tools matches" : glob,
                         "; autonomous ", alone_here ? "yes" : "no"));
    if (ids.size() == 1) return;
    std::vector<std::string> removed;
    if (tool_allowed && !permits) removed.push_back(tool_id);
    const DataMask lost = data & st.data & ~sa.data;
    if (lost != 0) {
      removed.push_back(
          absl::StrCat("data ", Words(s.DataClassNames(lost))));
    }
    const bool alone = alone_here;
    if (autonomous && !alone) removed.push_back("acting autonomously");
    out.Add(v1::LINK_AGENT, 1,
            absl::StrCat("removes: ", Words(removed)));
    tool_allowed = tool_allowed && permits;
    data &= sa.data;
    autonomous = autonomous && alone;
  }
}

// Whether the chain counts as autonomous, and why.
std::string AutonomyWhy(const Snapshot& s, const Chain& chain) {
  if (!chain.service_id.empty()) {
    return "autonomous (a service always is)";
  }
  const int c = s.FindClient(chain.client_id);
  if (rules::Autonomous(false, false, c >= 0 ? &s.clients()[c] : nullptr)) {
    return absl::StrCat("autonomous (client ", chain.client_id,
                        " is registered interactive: false, whatever the "
                        "request says)");
  }
  if (chain.autonomous) return "autonomous (the request says so)";
  return "not autonomous (the request says a human is in the loop, and the "
         "client is interactive)";
}

void ExplainClient(const Snapshot& s, const Chain& chain,
                   const Snapshot::Tool& st,
                   const std::vector<std::string>& tool_scopes, Lines& out) {
  const int c = s.FindClient(chain.client_id);
  const v1::Client* client = FindById(s.bundle().clients(), chain.client_id);
  if (c < 0 || client == nullptr) {
    out.Add(v1::LINK_CLIENT, 0,
            absl::StrCat("client ", chain.client_id, ": not registered"));
    return;
  }
  const Snapshot::Client& sc = s.clients()[c];
  out.Add(v1::LINK_CLIENT, 0,
          absl::StrCat(
              "client ", chain.client_id, " (", out.Where(client->source()),
              "): trust ", ClientTrustName(sc.trust), ", tool needs at least ",
              ClientTrustName(st.min_client_trust),
              rules::TrustSuffices(sc.trust, st) ? " (ok)" : " (too low)"));
  std::vector<std::string> in_ceiling, not_in_ceiling, in_token, not_in_token;
  for (const std::string& scope : tool_scopes) {
    (rules::ScopeGranted(sc.scopes, s.FindScope(scope),
                         /*token_bounds=*/false, /*in_token=*/false)
         ? in_ceiling
         : not_in_ceiling)
        .push_back(scope);
    const bool token = std::find(chain.scopes.begin(), chain.scopes.end(),
                                 scope) != chain.scopes.end();
    (token ? in_token : not_in_token).push_back(scope);
  }
  out.Add(v1::LINK_CLIENT, 1,
          absl::StrCat("tool scopes in the client's ceiling: ",
                       Words(in_ceiling), "; not: ", Words(not_in_ceiling)));
  out.Add(v1::LINK_CLIENT, 1,
          absl::StrCat("tool scopes in the token: ", Words(in_token),
                       "; not: ", Words(not_in_token)));
}

}  // namespace

std::vector<ExplainLine> Explain(const Snapshot& s, const Request& request,
                                 const Decision& decision,
                                 const ExplainOptions& options) {
  Lines out(options);
  const Chain& chain = request.chain;
  const std::string& tool_id = request.tool_id;
  const int t = s.FindTool(tool_id);
  const v1::Tool* tool = FindById(s.bundle().tools(), tool_id);
  if (t < 0 || tool == nullptr) {
    out.Add(v1::LINK_TOOL, 0,
            absl::StrCat("tool ", tool_id, ": not in the policy"));
    return out.Take();
  }
  const Snapshot::Tool& st = s.tools()[t];
  std::vector<std::string> tool_scopes;
  for (int scope : st.scopes) tool_scopes.push_back(s.scopes()[scope]);
  out.Add(v1::LINK_TOOL, 0,
          absl::StrCat(
              "tool ", tool_id, " (", out.Where(tool->source()), "): scopes ",
              Words(tool_scopes), "; data ", Words(s.DataClassNames(st.data)),
              "; risk ", RiskName(st.risk), "; autonomy ",
              AutonomyName(st.autonomy), "; auth ", AuthStrengthName(st.auth),
              "; min_client_trust ", ClientTrustName(st.min_client_trust)));

  for (const Reason& problem : chain.token_problems) {
    out.Add(problem.link, 0,
            absl::StrCat("token: ", ReasonCodeName(problem.code), ": ",
                         problem.message));
  }
  if (!chain.token_audiences.empty()) {
    const Snapshot::Server& server = *s.FindServer(st.server);
    for (const TokenAudience& token : chain.token_audiences) {
      out.Add(token.link, 0,
              absl::StrCat("token of link ", LinkName(token.link),
                           ": audience ", Words(token.audiences),
                           "; server ", server.id, " accepts ",
                           Words(server.audiences)));
    }
  }
  if (!chain.service_id.empty()) {
    ExplainService(s, chain, tool_id, tool_scopes, out);
  } else {
    ExplainUser(s, chain, tool_id, out);
    ExplainAgents(s, chain, st, tool_id, out);
    ExplainClient(s, chain, st, tool_scopes, out);
  }

  std::vector<std::string> rules;
  for (const Reason& reason : decision.reasons) {
    if (reason.rule_id.empty()) continue;
    const v1::DenyRule* rule = FindById(s.bundle().deny(), reason.rule_id);
    rules.push_back(
        absl::StrCat(reason.rule_id, " (",
                     rule == nullptr ? "?" : out.Where(rule->source()), ")"));
  }
  out.Add(v1::LINK_RULE, 0, absl::StrCat("deny rules matched: ", Words(rules)));
  out.Add(v1::LINK_UNSPECIFIED, 0,
          absl::StrCat("autonomy: the chain is ", AutonomyWhy(s, chain),
                       "; the tool's autonomy is ", AutonomyName(st.autonomy)));
  if (chain.service_id.empty()) {
    out.Add(v1::LINK_UNSPECIFIED, 0,
            absl::StrCat("auth: the session has ",
                         AuthStrengthName(StrengthFromAmr(chain.amr)),
                         "; the tool requires ", AuthStrengthName(st.auth)));
  }
  return out.Take();
}

}  // namespace pdp
