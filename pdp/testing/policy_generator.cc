#include "pdp/testing/policy_generator.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pdp/testing/rng.h"

namespace pdp {
namespace testgen {
namespace {

const std::vector<std::string> kServerNames = {
    "crm",      "hr",        "finance", "devops",  "calendar",  "email",
    "projects", "reminders", "docs",    "tickets", "analytics", "storage",
    "chat",     "billing",   "wiki",    "search"};
const std::vector<std::string> kVerbs = {
    "search", "get",    "list",  "create",  "update", "delete",
    "export", "import", "share", "approve", "sync",   "archive"};
const std::vector<std::string> kNouns = {
    "contacts", "deals", "invoices", "reports",  "tickets", "events",
    "messages", "files", "users",    "projects", "tasks",   "payments"};
const std::vector<std::string> kScopeKinds = {
    "read",  "write",   "delete", "admin", "export", "import",
    "share", "approve", "sync",   "audit", "manage", "notify"};
const std::vector<std::string> kDataNames = {
    "pii",         "salary", "financial", "health",   "credentials",
    "source_code", "legal",  "contracts", "internal", "customer_notes"};
const std::vector<std::string> kDepartments = {
    "sales", "support", "hr",        "finance", "engineering",
    "ops",   "legal",   "marketing", "exec",    "it"};
const std::vector<std::string> kAgentKinds = {
    "sales-assistant", "payroll-assistant", "support-agent",
    "devops-agent",    "reporting-agent",   "personal-assistant"};
const std::vector<std::string> kClientKinds = {"claude-desktop", "internal-ai",
                                               "mobile-app", "agent-worker",
                                               "partner-integration"};
const std::vector<std::string> kServiceKinds = {
    "import-worker", "scheduled-job", "sync-worker", "monitoring-agent",
    "billing-worker"};
const std::vector<std::string> kTrusts = {"untrusted", "standard", "trusted",
                                          "internal"};

std::string Quote(const std::string& s) { return absl::StrCat("\"", s, "\""); }

std::string FlowList(const std::vector<std::string>& items) {
  return absl::StrCat("[",
                      absl::StrJoin(items, ", ",
                                    [](std::string* out, const std::string& s) {
                                      out->append(Quote(s));
                                    }),
                      "]");
}

// Picks one of `values` with the given weights (which need not sum to 1).
std::string Weighted(Rng& rng, const std::vector<std::string>& values,
                     const std::vector<double>& weights) {
  double total = 0;
  for (double w : weights) total += w;
  double x = static_cast<double>(rng.Next() >> 11) *
             (1.0 / 9007199254740992.0) * total;
  for (size_t i = 0; i < values.size(); ++i) {
    if (x < weights[i]) return values[i];
    x -= weights[i];
  }
  return values.back();
}

// Up to `n` distinct elements of `v`, in random order.
std::vector<std::string> Sample(Rng& rng, const std::vector<std::string>& v,
                                int n) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (int tries = 0; static_cast<int>(out.size()) < n && tries < 4 * n + 8;
       ++tries) {
    const std::string& s = rng.Pick(v);
    if (seen.insert(s).second) out.push_back(s);
  }
  return out;
}

struct GenTool {
  std::string id;
  int server = 0;
  std::string verb;    // Empty for the big server's tools.
  std::string number;  // The decimal suffix.
  std::vector<std::string> scopes;
};

class Generator {
 public:
  explicit Generator(const PolicyGeneratorOptions& o)
      : o_(Clamp(o)), rng_(o.seed ^ 0x5eedULL) {}

  PolicyFiles Run() {
    MakeServers();
    MakeScopesAndData();
    MakeTools();
    MakeRoles();
    MakeAgents();
    MakeClients();
    MakeServices();
    MakeUsers();
    MakeDenyRules();
    return std::move(files_);
  }

 private:
  static PolicyGeneratorOptions Clamp(PolicyGeneratorOptions o) {
    o.servers = std::max(o.servers, 2);
    o.tools = std::max(o.tools, 2 * o.servers);
    o.big_server_tools = std::clamp(o.big_server_tools, 1, o.tools / 2);
    o.roles = std::max(o.roles, 1);
    o.agents = std::max(o.agents, 1);
    o.clients = std::max(o.clients, 1);
    o.services = std::max(o.services, 1);
    o.users = std::max(o.users, 1);
    o.scopes = std::max(o.scopes, 1);
    o.data_classes = std::clamp(o.data_classes, 1, 64);
    o.deny_rules = std::max(o.deny_rules, 0);
    return o;
  }

  void MakeServers() {
    servers_.push_back("big");
    for (int i = 1; i < o_.servers; ++i) {
      servers_.push_back(i - 1 < static_cast<int>(kServerNames.size())
                             ? kServerNames[i - 1]
                             : absl::StrCat("srv", i));
    }
  }

  void MakeScopesAndData() {
    scopes_by_server_.resize(servers_.size());
    for (size_t k = 0; static_cast<int>(scopes_.size()) < o_.scopes; ++k) {
      for (size_t s = 0;
           s < servers_.size() && static_cast<int>(scopes_.size()) < o_.scopes;
           ++s) {
        std::string kind =
            k < kScopeKinds.size() ? kScopeKinds[k] : absl::StrCat("extra", k);
        scopes_by_server_[s].push_back(scopes_.size());
        scopes_.push_back(absl::StrCat(servers_[s], ":", kind));
      }
    }
    for (int i = 0; i < o_.data_classes; ++i) {
      data_.push_back(i < static_cast<int>(kDataNames.size())
                          ? kDataNames[i]
                          : absl::StrCat("class_", i));
    }
    std::string out =
        "# Registries: every scope and data class in use.\nscopes:\n";
    for (size_t i = 0; i < scopes_.size(); ++i) {
      if (i % 7 == 0) {
        absl::StrAppend(&out, "  - id: ", Quote(scopes_[i]),
                        "\n    description: \"Grants ", scopes_[i], "\"\n");
      } else {
        absl::StrAppend(&out, "  - ", Quote(scopes_[i]), "\n");
      }
    }
    out += "data_classes:\n";
    for (size_t i = 0; i < data_.size(); ++i) {
      if (i % 3 == 0) {
        absl::StrAppend(&out, "  - {id: ", data_[i],
                        ", description: \"Results may carry ", data_[i],
                        "\"}\n");
      } else {
        absl::StrAppend(&out, "  - ", data_[i], "\n");
      }
    }
    files_["registry.yaml"] = std::move(out);
  }

  std::vector<std::string> ToolData() {
    double x = static_cast<double>(rng_.Uniform(100));
    int n = x < 50 ? 0 : x < 85 ? 1 : 2;
    return Sample(rng_, data_, n);
  }

  std::vector<std::string> ToolScopes(int server) {
    std::vector<std::string> out;
    if (rng_.Chance(0.1)) return out;
    const std::vector<size_t>& own = scopes_by_server_[server];
    auto pick_own = [&]() -> std::string {
      if (own.empty()) return rng_.Pick(scopes_);
      // Lower kinds (read, write) are the common ones.
      size_t limit = std::min<size_t>(own.size(), 1 + rng_.Uniform(4));
      return scopes_[own[rng_.Uniform(limit)]];
    };
    out.push_back(pick_own());
    if (rng_.Chance(0.25)) {
      std::string second = pick_own();
      if (second != out[0]) out.push_back(second);
    }
    if (rng_.Chance(0.05)) {
      std::string foreign = rng_.Pick(scopes_);
      if (std::find(out.begin(), out.end(), foreign) == out.end()) {
        out.push_back(foreign);
      }
    }
    return out;
  }

  void MakeTools() {
    // Tool counts: the big server has exactly big_server_tools; the rest are
    // spread unevenly over the other servers, at least one each.
    std::vector<int> counts(servers_.size(), 0);
    counts[0] = o_.big_server_tools;
    int rest = o_.tools - counts[0];
    int others = static_cast<int>(servers_.size()) - 1;
    std::vector<int> weights(others);
    int total = 0;
    for (int& w : weights) total += (w = 1 + static_cast<int>(rng_.Uniform(4)));
    int assigned = 0;
    for (int i = 0; i < others; ++i) {
      counts[i + 1] = std::max(1, rest * weights[i] / total);
      assigned += counts[i + 1];
    }
    for (int i = 0; assigned < rest; i = (i + 1) % others, ++assigned) {
      ++counts[i + 1];
    }
    for (int i = others - 1; assigned > rest; i = (i + others - 1) % others) {
      if (counts[i + 1] > 1) {
        --counts[i + 1];
        --assigned;
      }
    }

    tools_by_server_.resize(servers_.size());
    for (size_t s = 0; s < servers_.size(); ++s) {
      std::string out = absl::StrCat("# Tools of the MCP server \"",
                                     servers_[s], "\".\ntools:\n");
      for (int n = 0; n < counts[s]; ++n) {
        GenTool tool;
        tool.server = static_cast<int>(s);
        tool.number = absl::StrCat(n);
        if (s == 0) {
          tool.id = absl::StrCat("big.tool_", n);
        } else {
          tool.verb = rng_.Pick(kVerbs);
          tool.id = absl::StrCat(servers_[s], ".", tool.verb, "_",
                                 rng_.Pick(kNouns), "_", n);
        }
        AppendTool(&tool, &out);
        tools_by_server_[s].push_back(tools_.size());
        tools_.push_back(std::move(tool));
      }
      files_[absl::StrCat("tools/", servers_[s], ".yaml")] = std::move(out);
    }
    for (const GenTool& t : tools_) tool_ids_.push_back(t.id);
  }

  void AppendTool(GenTool* tool, std::string* out) {
    absl::StrAppend(out, "  - id: ", tool->id, "\n");
    tool->scopes = ToolScopes(tool->server);
    if (!tool->scopes.empty()) {
      absl::StrAppend(out, "    scopes: ", FlowList(tool->scopes), "\n");
    } else if (rng_.Chance(0.3)) {
      absl::StrAppend(out, "    scopes: []\n");
    }
    std::vector<std::string> data = ToolData();
    if (!data.empty()) {
      if (rng_.Chance(0.5)) {
        absl::StrAppend(out, "    data: ", FlowList(data), "\n");
      } else {
        absl::StrAppend(out, "    data:\n");
        for (const std::string& d : data)
          absl::StrAppend(out, "      - ", d, "\n");
      }
    }
    // Each enum: a weighted value; the default is sometimes left implicit.
    auto field = [&](absl::string_view key, const std::string& value,
                     absl::string_view default_value) {
      if (value == default_value && rng_.Chance(0.6)) return;
      absl::StrAppend(out, "    ", key, ": ", value, "\n");
    };
    field(
        "risk",
        Weighted(rng_, {"low", "medium", "high", "critical"}, {30, 40, 22, 8}),
        "medium");
    field("autonomy",
          Weighted(rng_, {"allowed", "approval", "forbidden"}, {75, 18, 7}),
          "allowed");
    field(
        "auth",
        Weighted(rng_, {"password", "mfa", "phishing_resistant"}, {70, 22, 8}),
        "password");
    field("min_client_trust", Weighted(rng_, kTrusts, {55, 25, 15, 5}),
          "untrusted");
    if (rng_.Chance(0.2)) {
      absl::StrAppend(out, "    description: \"Generated tool ", tool->id,
                      ": does its job, quietly.\"\n");
    }
  }

  // One entry of a role's or agent's `tools`, always matching some tool.
  std::vector<std::string> ToolPatterns(double whole_server) {
    double x =
        static_cast<double>(rng_.Next() >> 11) * (1.0 / 9007199254740992.0);
    const GenTool& t = tools_[rng_.Uniform(tools_.size())];
    const std::string& server = servers_[t.server];
    if (x < whole_server) {
      if (t.server == 0)
        return {absl::StrCat("big.tool_", t.number.substr(0, 1), "*")};
      return {absl::StrCat(server, ".*")};
    }
    x -= whole_server;
    if (x < 0.35) {
      if (t.server == 0) {
        return {absl::StrCat(
            "big.tool_",
            t.number.substr(0, std::min<size_t>(t.number.size(), 2)), "*")};
      }
      return {absl::StrCat(server, ".", t.verb, "_*")};
    }
    if (x < 0.45) {
      // A cross-server glob with a leading wildcard.
      const GenTool& other =
          tools_[tools_by_server_[1 + rng_.Uniform(servers_.size() - 1)][0]];
      return {absl::StrCat("*.", other.verb, "_*")};
    }
    if (x < 0.52 && tools_by_server_[0].size() >= 100) {
      // A '?' glob over the big server: "big.tool_1?" matches tool_10..19.
      return {absl::StrCat("big.tool_", 1 + rng_.Uniform(9), "?")};
    }
    return Sample(rng_, tool_ids_, rng_.Range(1, 5));
  }

  std::vector<std::string> ToolPatternList(int min, int max,
                                           double whole_server) {
    std::vector<std::string> out;
    std::set<std::string> seen;
    for (int i = rng_.Range(min, max); i > 0; --i) {
      for (std::string& p : ToolPatterns(whole_server)) {
        if (seen.insert(p).second) out.push_back(std::move(p));
      }
    }
    return out;
  }

  void MakeRoles() {
    std::string out =
        "# Roles. Each inherits only from roles defined before it.\nroles:\n";
    std::string out2 = "roles:\n";
    for (int i = 0; i < o_.roles; ++i) {
      std::string id =
          absl::StrCat(kDepartments[i % kDepartments.size()], "-", i);
      std::string& o = i < (o_.roles + 1) / 2 ? out : out2;
      absl::StrAppend(&o, "  - id: ", id, "\n");
      if (i > 0) {
        int parents = Weighted(rng_, {"0", "1", "2"}, {30, 50, 20})[0] - '0';
        std::vector<std::string> pool(role_ids_.begin() + std::max(0, i - 12),
                                      role_ids_.end());
        std::vector<std::string> inherits = Sample(rng_, pool, parents);
        if (!inherits.empty()) {
          absl::StrAppend(&o, "    inherits: ", FlowList(inherits), "\n");
        }
      }
      std::vector<std::string> tools = ToolPatternList(1, 4, 0.06);
      if (rng_.Chance(0.5)) {
        absl::StrAppend(&o, "    tools: ", FlowList(tools), "\n");
      } else {
        absl::StrAppend(&o, "    tools:\n");
        for (const std::string& t : tools) {
          absl::StrAppend(&o, "      - ", Quote(t), "\n");
        }
      }
      std::vector<std::string> data = Sample(rng_, data_, rng_.Range(0, 3));
      if (!data.empty())
        absl::StrAppend(&o, "    data: ", FlowList(data), "\n");
      if (rng_.Chance(0.3)) {
        absl::StrAppend(&o, "    description: Members of ", id, "\n");
      }
      role_ids_.push_back(std::move(id));
    }
    files_["roles/base.yaml"] = std::move(out);
    if (o_.roles > 1) files_["roles/more.yaml"] = std::move(out2);
  }

  void MakeAgents() {
    std::string out = "agents:\n";
    for (int i = 0; i < o_.agents; ++i) {
      std::string id =
          absl::StrCat(kAgentKinds[i % kAgentKinds.size()], "-", i);
      absl::StrAppend(&out, "  - id: ", id, "\n");
      absl::StrAppend(&out, "    tools: ", FlowList(ToolPatternList(2, 6, 0.2)),
                      "\n");
      std::vector<std::string> data = Sample(rng_, data_, rng_.Range(0, 4));
      if (!data.empty())
        absl::StrAppend(&out, "    data: ", FlowList(data), "\n");
      bool autonomous = rng_.Chance(0.4);
      if (autonomous || rng_.Chance(0.5)) {
        absl::StrAppend(&out, "    autonomous: ", autonomous ? "true" : "false",
                        "\n");
      }
      agent_ids_.push_back(std::move(id));
    }
    files_["agents.yaml"] = std::move(out);
  }

  void MakeClients() {
    std::string out = "clients:\n";
    for (int i = 0; i < o_.clients; ++i) {
      std::string id =
          absl::StrCat(kClientKinds[i % kClientKinds.size()], "-", i);
      const std::string& trust =
          kTrusts[(i + rng_.Uniform(2)) % kTrusts.size()];
      absl::StrAppend(&out, "  - id: ", id, "\n");
      if (trust != "untrusted" || rng_.Chance(0.5)) {
        absl::StrAppend(&out, "    trust: ", trust, "\n");
      }
      double p = trust == "internal" ? 0.95 : trust == "untrusted" ? 0.4 : 0.7;
      std::vector<std::string> scopes;
      for (const std::string& s : scopes_) {
        if (rng_.Chance(p)) scopes.push_back(s);
      }
      if (!scopes.empty()) {
        absl::StrAppend(&out, "    scopes: ", FlowList(scopes), "\n");
      }
      absl::StrAppend(&out,
                      "    redirect_uris: [\"http://127.0.0.1:", 30000 + i,
                      "/callback\"]\n");
      client_ids_.push_back(std::move(id));
    }
    files_["clients.yaml"] = std::move(out);
  }

  void MakeServices() {
    std::string out = "services:\n";
    for (int i = 0; i < o_.services; ++i) {
      std::string id =
          absl::StrCat(kServiceKinds[i % kServiceKinds.size()], "-", i);
      int server = static_cast<int>(rng_.Uniform(servers_.size()));
      const std::vector<size_t>& own = tools_by_server_[server];
      std::vector<std::string> tools;
      std::set<std::string> scopes;
      if (server != 0 && rng_.Chance(0.2)) {
        const GenTool& t = tools_[rng_.Pick(own)];
        tools.push_back(absl::StrCat(servers_[server], ".", t.verb, "_*"));
        for (size_t s : scopes_by_server_[server]) scopes.insert(scopes_[s]);
      } else {
        for (int k = rng_.Range(1, 5); k > 0; --k) {
          const GenTool& t = tools_[rng_.Pick(own)];
          if (std::find(tools.begin(), tools.end(), t.id) == tools.end()) {
            tools.push_back(t.id);
            scopes.insert(t.scopes.begin(), t.scopes.end());
          }
        }
      }
      std::vector<std::string> scope_list(scopes.begin(), scopes.end());
      if (!scope_list.empty() && rng_.Chance(0.15)) scope_list.pop_back();
      absl::StrAppend(&out, "  - id: ", id, "\n    tools: ", FlowList(tools),
                      "\n");
      if (!scope_list.empty()) {
        absl::StrAppend(&out, "    scopes: ", FlowList(scope_list), "\n");
      }
      std::vector<std::string> data = Sample(rng_, data_, rng_.Range(0, 3));
      if (!data.empty())
        absl::StrAppend(&out, "    data: ", FlowList(data), "\n");
      service_ids_.push_back(std::move(id));
    }
    files_["services.yaml"] = std::move(out);
  }

  void MakeUsers() {
    constexpr int kPerFile = 500;
    for (int file = 0; file * kPerFile < o_.users; ++file) {
      std::string out = "users:\n";
      for (int i = file * kPerFile;
           i < std::min(o_.users, (file + 1) * kPerFile); ++i) {
        std::string id = absl::StrCat("user", i, "@acme.example");
        absl::StrAppend(&out, "  - id: ", id, "\n");
        std::vector<std::string> roles;
        if (!rng_.Chance(0.03)) {
          // Biased toward later roles, which inherit more.
          for (int k = rng_.Range(1, 3); k > 0; --k) {
            size_t a = rng_.Uniform(role_ids_.size());
            size_t b = rng_.Uniform(role_ids_.size());
            roles.push_back(role_ids_[std::max(a, b)]);
          }
          std::sort(roles.begin(), roles.end());
          roles.erase(std::unique(roles.begin(), roles.end()), roles.end());
        }
        absl::StrAppend(&out, "    roles: ", FlowList(roles), "\n");
        if (rng_.Chance(0.1)) {
          absl::StrAppend(&out, "    attributes: {department: ",
                          kDepartments[rng_.Uniform(kDepartments.size())],
                          "}\n");
        }
        user_ids_.push_back(std::move(id));
      }
      char name[32];
      std::snprintf(name, sizeof(name), "users/users_%03d.yaml", file);
      files_[name] = std::move(out);
    }
  }

  std::string VerbGlob() {
    size_t server = 1 + rng_.Uniform(servers_.size() - 1);
    const GenTool& t = tools_[rng_.Pick(tools_by_server_[server])];
    return absl::StrCat(servers_[server], ".", t.verb, "_*");
  }

  void MakeDenyRules() {
    std::string out = "# Explicit denials; deny always wins.\ndeny:\n";
    for (int k = 0; k < o_.deny_rules; ++k) {
      std::vector<std::string> when;
      std::string kind;
      const std::string server =
          servers_[1 + rng_.Uniform(servers_.size() - 1)];
      switch (k % 12) {
        case 0:
          kind = "no-autonomous";
          when = {absl::StrCat("tools: ", FlowList({VerbGlob()})),
                  "autonomous: true"};
          break;
        case 1:
          kind = "server-needs-trust";
          when = {absl::StrCat("servers: ", FlowList({server})),
                  "client_trust_below: trusted"};
          break;
        case 2:
          kind = "critical-internal-only";
          when = {"risk_at_least: critical", "client_trust_below: internal"};
          break;
        case 3:
          kind = "agents-no-data";
          when = {
              absl::StrCat("data: ", FlowList({rng_.Pick(data_)})),
              absl::StrCat("agents: ", FlowList(Sample(rng_, agent_ids_, 2)))};
          break;
        case 4:
          kind = "role-tools";
          when = {absl::StrCat("roles: ", FlowList({rng_.Pick(role_ids_)})),
                  absl::StrCat("tools: ",
                               FlowList({rng_.Pick(tool_ids_), VerbGlob()}))};
          break;
        case 5:
          kind = "users-server";
          when = {
              absl::StrCat("users: ",
                           FlowList({rng_.Pick(user_ids_), rng_.Pick(user_ids_),
                                     "former-employee@acme.example"})),
              absl::StrCat("servers: ", FlowList({server}))};
          break;
        case 6:
          kind = "client-risk";
          when = {absl::StrCat("clients: ", FlowList({rng_.Pick(client_ids_)})),
                  "risk_at_least: high"};
          break;
        case 7:
          kind = "service-data";
          when = {
              absl::StrCat("services: ", FlowList({rng_.Pick(service_ids_)})),
              absl::StrCat("data: ", FlowList({rng_.Pick(data_)}))};
          break;
        case 8:
          kind = "servers-glob";
          when = {
              absl::StrCat("servers: ",
                           FlowList({absl::StrCat(server.substr(0, 1), "*")})),
              "autonomous: true", "risk_at_least: high"};
          break;
        case 9:
          kind = "agent-supervised-big";
          when = {absl::StrCat("agents: ", FlowList({rng_.Pick(agent_ids_)})),
                  "autonomous: false",
                  absl::StrCat(
                      "tools: ",
                      FlowList({absl::StrCat(
                          "big.tool_",
                          tools_[rng_.Pick(tools_by_server_[0])].number.substr(
                              0, 1),
                          "*")}))};
          break;
        case 10:
          kind = "roles-data-trust";
          when = {absl::StrCat("roles: ", FlowList(Sample(rng_, role_ids_, 3))),
                  absl::StrCat("data: ", FlowList(Sample(rng_, data_, 2))),
                  "client_trust_below: standard"};
          break;
        case 11:
          kind = "one-tool";
          when = {absl::StrCat("tools: ", FlowList({rng_.Pick(tool_ids_)}))};
          break;
      }
      absl::StrAppend(&out, "  - id: deny-", k, "-", kind, "\n");
      if (k % 2 == 0) {
        absl::StrAppend(&out, "    description: \"Generated rule ", k, " (",
                        kind, ")\"\n");
      }
      if (k % 3 == 0) {
        absl::StrAppend(&out, "    when: {", absl::StrJoin(when, ", "), "}\n");
      } else {
        absl::StrAppend(&out, "    when:\n");
        for (const std::string& w : when)
          absl::StrAppend(&out, "      ", w, "\n");
      }
    }
    files_["deny.yaml"] = std::move(out);
  }

  const PolicyGeneratorOptions o_;
  Rng rng_;
  PolicyFiles files_;
  std::vector<std::string> servers_;
  std::vector<std::string> scopes_;
  std::vector<std::vector<size_t>> scopes_by_server_;  // Indices into scopes_.
  std::vector<std::string> data_;
  std::vector<GenTool> tools_;
  std::vector<std::string> tool_ids_;
  std::vector<std::vector<size_t>> tools_by_server_;  // Indices into tools_.
  std::vector<std::string> role_ids_, agent_ids_, client_ids_, service_ids_,
      user_ids_;
};

}  // namespace

PolicyFiles GeneratePolicy(const PolicyGeneratorOptions& options) {
  return Generator(options).Run();
}

absl::Status WritePolicyFiles(const PolicyFiles& files,
                              const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& [name, content] : files) {
    fs::path path = fs::path(dir) / name;
    fs::create_directories(path.parent_path(), ec);
    if (ec) {
      return absl::InternalError(absl::StrCat(
          "cannot create ", path.parent_path().string(), ": ", ec.message()));
    }
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    if (!out) {
      return absl::InternalError(absl::StrCat("cannot write ", path.string()));
    }
  }
  return absl::OkStatus();
}

}  // namespace testgen
}  // namespace pdp
