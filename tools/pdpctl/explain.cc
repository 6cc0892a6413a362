#include "tools/pdpctl/explain.h"

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pdp/glob.h"
#include "pdp/names.h"

namespace pdpctl {
namespace {

namespace v1 = pdp::v1;

// "dir/file:line" for a policy element, or its list item `field[index]`.
std::string Where(const std::string& dir, const v1::Source& source,
                  const std::string& item = "") {
  int line = source.line();
  if (!item.empty()) {
    auto it = source.item_lines().find(item);
    if (it != source.item_lines().end()) line = it->second;
  }
  std::string file = source.file();
  if (!dir.empty()) file = absl::StrCat(dir, "/", file);
  return line > 0 ? absl::StrCat(file, ":", line) : file;
}

template <typename T>
const T* FindById(const google::protobuf::RepeatedPtrField<T>& items,
                  const std::string& id) {
  for (const T& item : items) {
    if (item.id() == id) return &item;
  }
  return nullptr;
}

// The first of `globs` matching `tool`, as "glob \"x\" (file:line)", or "".
std::string MatchingGlob(const std::string& dir,
                         const google::protobuf::RepeatedPtrField<std::string>&
                             globs,
                         const v1::Source& source, const std::string& tool) {
  for (int i = 0; i < globs.size(); ++i) {
    if (pdp::GlobMatch(globs[i], tool)) {
      return absl::StrCat("glob \"", globs[i], "\" (",
                          Where(dir, source, absl::StrCat("tools[", i, "]")),
                          ")");
    }
  }
  return "";
}

std::string Words(const std::vector<std::string>& words) {
  return words.empty() ? "none" : absl::StrJoin(words, ", ");
}

// How the user's roles grant the tool: one line per granting role, with the
// inheritance path from a role the user holds.
void ExplainUser(const pdp::Snapshot& s, const std::string& dir,
                 const pdp::Chain& chain, const std::string& tool,
                 std::string& out) {
  std::vector<std::string> held = chain.asserted_roles;
  const v1::User* user = FindById(s.bundle().users(), chain.user_id);
  if (held.empty()) {
    if (user == nullptr) {
      absl::StrAppend(&out, "  user ", chain.user_id,
                      ": not in the policy (no roles)\n");
      return;
    }
    held.assign(user->roles().begin(), user->roles().end());
    absl::StrAppend(&out, "  user ", chain.user_id, " (",
                    Where(dir, user->source()), "): roles ", Words(held),
                    "\n");
  } else {
    absl::StrAppend(&out, "  user ", chain.user_id, ": asserted roles ",
                    Words(held), "\n");
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
    if (role == nullptr) continue;
    std::string glob = MatchingGlob(dir, role->tools(), role->source(), tool);
    if (!glob.empty()) {
      ++granting;
      const std::vector<std::string>& p = path[id];
      absl::StrAppend(&out, "    granted by role ", id, " (",
                      Where(dir, role->source()), ")");
      if (p.size() > 1) {
        absl::StrAppend(&out, " inherited via ", absl::StrJoin(p, " -> "));
      }
      absl::StrAppend(&out, ": ", glob, "\n");
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
    absl::StrAppend(&out, "    no role of the user grants ", tool, "\n");
  }
}

}  // namespace

std::string ExplainText(const pdp::Snapshot& s, const std::string& dir,
                        const pdp::Request& request,
                        const pdp::Decision& decision) {
  const pdp::Chain& chain = request.chain;
  const std::string& tool_id = request.tool_id;
  std::string out = "explain:\n";
  const int t = s.FindTool(tool_id);
  const v1::Tool* tool = FindById(s.bundle().tools(), tool_id);
  if (t < 0 || tool == nullptr) {
    absl::StrAppend(&out, "  tool ", tool_id, ": not in the policy\n");
    return out;
  }
  const pdp::Snapshot::Tool& st = s.tools()[t];
  std::vector<std::string> tool_scopes;
  for (int scope : st.scopes) tool_scopes.push_back(s.scopes()[scope]);
  absl::StrAppend(
      &out, "  tool ", tool_id, " (", Where(dir, tool->source()), "): scopes ",
      Words(tool_scopes), "; data ", Words(s.DataClassNames(st.data)),
      "; risk ", pdp::RiskName(st.risk), "; autonomy ",
      pdp::AutonomyName(st.autonomy), "; auth ", pdp::AuthStrengthName(st.auth),
      "; min_client_trust ", pdp::ClientTrustName(st.min_client_trust), "\n");

  if (!chain.service_id.empty()) {
    const v1::Service* service =
        FindById(s.bundle().services(), chain.service_id);
    const int v = s.FindService(chain.service_id);
    if (service == nullptr || v < 0) {
      absl::StrAppend(&out, "  service ", chain.service_id,
                      ": not in the policy\n");
    } else {
      std::string glob =
          MatchingGlob(dir, service->tools(), service->source(), tool_id);
      absl::StrAppend(&out, "  service ", chain.service_id, " (",
                      Where(dir, service->source()), "): ",
                      glob.empty() ? "no glob of its tools matches" : glob,
                      "\n");
      std::vector<std::string> held, missing;
      for (const std::string& scope : tool_scopes) {
        (s.services()[v].scopes.Test(s.FindScope(scope)) ? held : missing)
            .push_back(scope);
      }
      absl::StrAppend(&out, "    scopes held: ", Words(held),
                      "; missing: ", Words(missing), "\n");
    }
  } else {
    ExplainUser(s, dir, chain, tool_id, out);
    if (!chain.agent_id.empty()) {
      const v1::Agent* agent = FindById(s.bundle().agents(), chain.agent_id);
      if (agent == nullptr) {
        absl::StrAppend(&out, "  agent ", chain.agent_id,
                        ": not in the policy\n");
      } else {
        std::string glob =
            MatchingGlob(dir, agent->tools(), agent->source(), tool_id);
        absl::StrAppend(&out, "  agent ", chain.agent_id, " (",
                        Where(dir, agent->source()), "): ",
                        glob.empty() ? "no glob of its tools matches" : glob,
                        "; autonomous ", agent->autonomous() ? "yes" : "no",
                        "\n");
      }
    } else {
      absl::StrAppend(&out, "  agent: none\n");
    }
    const int c = s.FindClient(chain.client_id);
    const v1::Client* client = FindById(s.bundle().clients(), chain.client_id);
    if (c < 0 || client == nullptr) {
      absl::StrAppend(&out, "  client ", chain.client_id,
                      ": not registered\n");
    } else {
      const pdp::Snapshot::Client& sc = s.clients()[c];
      absl::StrAppend(&out, "  client ", chain.client_id, " (",
                      Where(dir, client->source()), "): trust ",
                      pdp::ClientTrustName(sc.trust), ", tool needs at least ",
                      pdp::ClientTrustName(st.min_client_trust),
                      sc.trust < st.min_client_trust ? " (too low)" : " (ok)",
                      "\n");
      std::vector<std::string> in_ceiling, not_in_ceiling, in_token,
          not_in_token;
      for (const std::string& scope : tool_scopes) {
        (sc.scopes.Test(s.FindScope(scope)) ? in_ceiling : not_in_ceiling)
            .push_back(scope);
        const bool token = std::find(chain.scopes.begin(), chain.scopes.end(),
                                     scope) != chain.scopes.end();
        (token ? in_token : not_in_token).push_back(scope);
      }
      absl::StrAppend(&out, "    tool scopes in the client's ceiling: ",
                      Words(in_ceiling), "; not: ", Words(not_in_ceiling),
                      "\n    tool scopes in the token: ", Words(in_token),
                      "; not: ", Words(not_in_token), "\n");
    }
  }

  std::vector<std::string> rules;
  for (const pdp::Reason& reason : decision.reasons) {
    if (reason.rule_id.empty()) continue;
    const v1::DenyRule* rule = FindById(s.bundle().deny(), reason.rule_id);
    rules.push_back(absl::StrCat(
        reason.rule_id, " (",
        rule == nullptr ? "?" : Where(dir, rule->source()), ")"));
  }
  absl::StrAppend(&out, "  deny rules matched: ", Words(rules), "\n");
  const bool autonomous = !chain.service_id.empty() || chain.autonomous;
  absl::StrAppend(&out, "  autonomy: the chain is ",
                  autonomous ? "autonomous" : "not autonomous",
                  "; the tool's autonomy is ", pdp::AutonomyName(st.autonomy),
                  "\n");
  if (chain.service_id.empty()) {
    absl::StrAppend(&out, "  auth: the session has ",
                    pdp::AuthStrengthName(pdp::StrengthFromAmr(chain.amr)),
                    "; the tool requires ", pdp::AuthStrengthName(st.auth),
                    "\n");
  }
  return out;
}

}  // namespace pdpctl
