// DiffPolicies against a brute-force reference: pdp::Check on both sides for
// every (chain, tool), grouped as `pdpctl diff` documents. Every field of
// every group (users, clients, autonomy, decisions, the sentence) and the
// order of the groups must agree, on unrelated generated policies and on
// targeted edits of one.

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "pdp/compiler.h"
#include "pdp/evaluator.h"
#include "pdp/names.h"
#include "pdp/testing/policy_generator.h"
#include "tools/pdpctl/commands.h"
#include "tools/pdpctl/diff.h"

namespace pdpctl {
namespace {

namespace v1 = pdp::v1;

// One side's decision, by names (data classes sorted), for comparing and
// printing across policies.
struct Named {
  v1::Effect effect = v1::EFFECT_DENY;
  v1::AuthStrength step_up = v1::AUTH_STRENGTH_UNSPECIFIED;
  std::set<std::string> redact;

  std::string Text() const {
    std::string text(pdp::EffectName(effect));
    if (step_up != v1::AUTH_STRENGTH_UNSPECIFIED) {
      absl::StrAppend(&text, " ", pdp::AuthStrengthName(step_up));
    }
    if (!redact.empty()) {
      absl::StrAppend(&text, " redact ", absl::StrJoin(redact, ","));
    }
    return text;
  }
};

Named Name(const pdp::Snapshot& s, const pdp::Decision& d) {
  Named n;
  n.effect = d.effect;
  n.step_up = d.step_up;
  for (const std::string& name : s.DataClassNames(d.redact)) {
    n.redact.insert(name);
  }
  return n;
}

int Rank(v1::Effect effect) {
  if (effect == v1::EFFECT_ALLOW) return 2;
  if (effect == v1::EFFECT_STEP_UP || effect == v1::EFFECT_REQUIRE_APPROVAL) {
    return 1;
  }
  return 0;
}

bool Includes(const std::set<std::string>& a, const std::set<std::string>& b) {
  return std::includes(a.begin(), a.end(), b.begin(), b.end());
}

// As `pdpctl diff --help` defines widening.
ChangeKind Classify(const Named& was, const Named& now) {
  if (Rank(was.effect) != Rank(now.effect)) {
    return Rank(now.effect) > Rank(was.effect) ? ChangeKind::kWiden
                                               : ChangeKind::kNarrow;
  }
  if (was.effect != now.effect) return ChangeKind::kOther;
  bool widen = false, narrow = false;
  if (was.redact != now.redact) {
    const bool fewer = Includes(was.redact, now.redact);
    const bool more = Includes(now.redact, was.redact);
    widen |= fewer;
    narrow |= more;
    if (!fewer && !more) widen = narrow = true;
  }
  if (was.step_up != now.step_up) {
    (now.step_up < was.step_up ? widen : narrow) = true;
  }
  if (widen != narrow) return widen ? ChangeKind::kWiden : ChangeKind::kNarrow;
  return ChangeKind::kOther;
}

struct Group {
  ChangeKind kind = ChangeKind::kOther;
  std::string tool, agent, service, was, now;
  std::set<std::string> users, clients;
  bool autonomous = false, not_autonomous = false;
  int64_t decisions = 0;
};

// The sentence, as docs/policy.md shows it.
std::string Line(const Group& g) {
  const char* verb = g.kind == ChangeKind::kWiden    ? "gain"
                     : g.kind == ChangeKind::kNarrow ? "lose"
                                                     : "change";
  std::string line;
  if (!g.service.empty()) {
    line = absl::StrCat("service ", g.service, " ", verb, "s ", g.tool);
  } else if (g.users.size() == 1) {
    line = absl::StrCat("user ", *g.users.begin());
    if (!g.agent.empty()) absl::StrAppend(&line, " with agent ", g.agent);
    absl::StrAppend(&line, " ", verb, "s ", g.tool);
  } else if (!g.agent.empty()) {
    line = absl::StrCat("agent ", g.agent, " ", verb, "s ", g.tool, " for ",
                        Plural(g.users.size(), "user"));
  } else {
    line = absl::StrCat(Plural(g.users.size(), "user"), " ", verb, " ", g.tool,
                        " (no agent)");
  }
  if (g.clients.size() == 1) {
    absl::StrAppend(&line, " via client ", *g.clients.begin());
  } else if (g.clients.size() > 1) {
    absl::StrAppend(&line, " via ", Plural(g.clients.size(), "client"));
  }
  if (g.service.empty() && g.autonomous != g.not_autonomous) {
    absl::StrAppend(
        &line, g.autonomous ? ", autonomous only" : ", not autonomous only");
  }
  absl::StrAppend(&line, " (", g.now, ", was ", g.was, ")");
  return line;
}

const char* KindWord(ChangeKind kind) {
  return kind == ChangeKind::kWiden    ? "widen"
         : kind == ChangeKind::kNarrow ? "narrow"
                                       : "other";
}

std::string Render(const Group& g, const std::string& line) {
  return absl::StrCat(KindWord(g.kind), " | ", line, " | users ",
                      absl::StrJoin(g.users, ","), " | clients ",
                      absl::StrJoin(g.clients, ","), " | autonomous ",
                      g.autonomous, " not ", g.not_autonomous, " | ", g.was,
                      " -> ", g.now, " | ", g.decisions);
}

struct Rendered {
  std::vector<std::string> groups;  // In the order of DiffResult::groups.
  int64_t widen = 0, narrow = 0, other = 0;
};

// The brute force: Check() every (chain, tool) on both sides.
Rendered Reference(const pdp::Snapshot& a, const pdp::Snapshot& b) {
  std::set<std::string> users, clients, agents, services, tools;
  for (const pdp::Snapshot* s : {&a, &b}) {
    for (const auto& x : s->users()) users.insert(x.id);
    for (const auto& x : s->clients()) clients.insert(x.id);
    for (const auto& x : s->agents()) agents.insert(x.id);
    for (const auto& x : s->services()) services.insert(x.id);
    for (const auto& x : s->tools()) tools.insert(x.id);
  }
  std::vector<pdp::Chain> chains;
  for (const std::string& user : users) {
    for (const std::string& client : clients) {
      std::set<std::string> token;  // Both ceilings: each side keeps its own.
      for (const pdp::Snapshot* s : {&a, &b}) {
        const int c = s->FindClient(client);
        if (c < 0) continue;
        s->clients()[c].scopes.ForEach(
            [&](size_t i) { token.insert(s->scopes()[i]); });
      }
      std::vector<std::string> agent_options = {""};
      agent_options.insert(agent_options.end(), agents.begin(), agents.end());
      for (const std::string& agent : agent_options) {
        for (bool autonomous : {false, true}) {
          pdp::Chain chain;
          chain.user_id = user;
          chain.client_id = client;
          chain.agent_id = agent;
          chain.scopes.assign(token.begin(), token.end());
          chain.autonomous = autonomous;
          chains.push_back(std::move(chain));
        }
      }
    }
  }
  for (const std::string& service : services) {
    pdp::Chain chain;
    chain.service_id = service;
    chains.push_back(std::move(chain));
  }
  std::map<std::tuple<std::string, std::string, std::string, std::string,
                      std::string>,
           Group>
      groups;
  Rendered r;
  for (const pdp::Chain& chain : chains) {
    for (const std::string& tool : tools) {
      const pdp::Request request{chain, tool, pdp::Action::kCall};
      absl::StatusOr<pdp::Decision> x = pdp::Check(a, request);
      absl::StatusOr<pdp::Decision> y = pdp::Check(b, request);
      EXPECT_TRUE(x.ok() && y.ok());
      if (!x.ok() || !y.ok()) return r;
      const Named was = Name(a, *x), now = Name(b, *y);
      if (was.Text() == now.Text()) continue;
      Group& g = groups[{tool, chain.agent_id, chain.service_id, was.Text(),
                         now.Text()}];
      g.kind = Classify(was, now);
      g.tool = tool;
      g.agent = chain.agent_id;
      g.service = chain.service_id;
      g.was = was.Text();
      g.now = now.Text();
      if (chain.service_id.empty()) {
        g.users.insert(chain.user_id);
        g.clients.insert(chain.client_id);
      }
      (chain.autonomous || !chain.service_id.empty() ? g.autonomous
                                                     : g.not_autonomous) = true;
      ++g.decisions;
      (g.kind == ChangeKind::kWiden    ? r.widen
       : g.kind == ChangeKind::kNarrow ? r.narrow
                                       : r.other) += 1;
    }
  }
  std::vector<std::tuple<ChangeKind, std::string, std::string, std::string>>
      sorted;
  for (const auto& [key, g] : groups) {
    const std::string line = Line(g);
    sorted.emplace_back(g.kind, g.tool, line, Render(g, line));
  }
  std::sort(sorted.begin(), sorted.end());
  for (auto& entry : sorted) r.groups.push_back(std::get<3>(entry));
  return r;
}

Rendered Fast(const DiffResult& result) {
  Rendered r;
  r.widen = result.widen;
  r.narrow = result.narrow;
  r.other = result.other;
  for (const ChangeGroup& c : result.groups) {
    Group g;
    g.kind = c.kind;
    g.tool = c.tool;
    g.agent = c.agent;
    g.service = c.service;
    g.was = c.old_decision;
    g.now = c.new_decision;
    for (int u : c.users) g.users.insert(result.user_ids[u]);
    for (int k : c.clients) g.clients.insert(result.client_ids[k]);
    EXPECT_EQ(g.users.size(), c.users.size()) << c.line;
    g.autonomous = c.autonomous;
    g.not_autonomous = c.not_autonomous;
    g.decisions = c.decisions;
    r.groups.push_back(Render(g, c.line));
  }
  return r;
}

void ExpectSameAsReference(const pdp::Snapshot& a, const pdp::Snapshot& b) {
  const Rendered expected = Reference(a, b);
  const Rendered actual = Fast(DiffPolicies(a, b));
  EXPECT_EQ(actual.widen, expected.widen);
  EXPECT_EQ(actual.narrow, expected.narrow);
  EXPECT_EQ(actual.other, expected.other);
  ASSERT_EQ(actual.groups.size(), expected.groups.size());
  for (size_t i = 0; i < expected.groups.size(); ++i) {
    ASSERT_EQ(actual.groups[i], expected.groups[i]) << "group " << i;
  }
}

std::string TempDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::shared_ptr<const pdp::Snapshot> Generate(
    const pdp::testgen::PolicyGeneratorOptions& options) {
  const std::string dir = TempDir(absl::StrCat("gen_", options.seed));
  EXPECT_TRUE(
      pdp::testgen::WritePolicyFiles(pdp::testgen::GeneratePolicy(options), dir)
          .ok());
  auto snapshot = pdp::Compiler::CompileDirectory(dir);
  EXPECT_TRUE(snapshot.ok()) << snapshot.status();
  return snapshot.ok() ? *snapshot : nullptr;
}

pdp::testgen::PolicyGeneratorOptions Small(uint64_t seed) {
  pdp::testgen::PolicyGeneratorOptions o;
  o.seed = seed;
  o.tools = 80;
  o.servers = 4;
  o.big_server_tools = 20;
  o.roles = 10;
  o.agents = 5;
  o.clients = 4;
  o.services = 3;
  o.users = 15;
  o.scopes = 12;
  o.data_classes = 6;
  o.deny_rules = 12;
  return o;
}

TEST(DiffReferenceTest, UnrelatedPolicies) {
  for (auto [x, y] : {std::pair<uint64_t, uint64_t>{7, 8}, {1, 2}, {3, 11}}) {
    SCOPED_TRACE(absl::StrCat("seeds ", x, " and ", y));
    auto a = Generate(Small(x));
    auto b = Generate(Small(y));
    ASSERT_TRUE(a && b);
    ExpectSameAsReference(*a, *b);
    ExpectSameAsReference(*b, *a);
  }
}

TEST(DiffReferenceTest, IdenticalPoliciesDiffEmpty) {
  auto a = Generate(Small(5));
  ASSERT_TRUE(a);
  const DiffResult result = DiffPolicies(*a, *a);
  EXPECT_TRUE(result.groups.empty());
  EXPECT_EQ(result.widen + result.narrow + result.other, 0);
}

// More than 64 clients and deny rules: sets of them span several words.
TEST(DiffReferenceTest, ManyClientsAndRules) {
  pdp::testgen::PolicyGeneratorOptions o = Small(21);
  o.tools = 30;
  o.big_server_tools = 10;
  o.users = 6;
  o.agents = 2;
  o.clients = 70;
  o.deny_rules = 70;
  auto a = Generate(o);
  o.seed = 22;
  auto b = Generate(o);
  ASSERT_TRUE(a && b);
  ExpectSameAsReference(*a, *b);
}

// The base policy's tools, the most called first: by how many (user, client)
// pairs without an agent may call them at all. Edits aim at these, so that
// each one changes decisions.
std::vector<std::string> RankedTools(const pdp::Snapshot& s) {
  std::vector<std::pair<int, std::string>> counts;
  for (const pdp::Snapshot::Tool& tool : s.tools()) {
    int count = 0;
    for (const pdp::Snapshot::User& user : s.users()) {
      for (const pdp::Snapshot::Client& client : s.clients()) {
        pdp::Request request;
        request.chain.user_id = user.id;
        request.chain.client_id = client.id;
        client.scopes.ForEach(
            [&](size_t i) { request.chain.scopes.push_back(s.scopes()[i]); });
        request.tool_id = tool.id;
        absl::StatusOr<pdp::Decision> d = pdp::Check(s, request);
        if (d.ok() && d->effect != v1::EFFECT_DENY) ++count;
      }
    }
    counts.emplace_back(-count, tool.id);
  }
  std::sort(counts.begin(), counts.end());
  std::vector<std::string> ranked;
  for (const auto& [count, id] : counts) ranked.push_back(id);
  return ranked;
}

v1::Tool* FindTool(v1::Bundle& b, const std::string& id) {
  for (v1::Tool& tool : *b.mutable_tools()) {
    if (tool.id() == id) return &tool;
  }
  return nullptr;
}

std::string ServerOf(const std::string& tool) {
  return tool.substr(0, tool.find('.'));
}

using Edit = std::function<void(v1::Bundle&)>;

// Targeted edits of one policy, each alone and all together.
TEST(DiffReferenceTest, TargetedEdits) {
  for (uint64_t seed : {1, 4}) {
    auto base = Generate(Small(seed));
    ASSERT_TRUE(base);
    const std::vector<std::string> ranked = RankedTools(*base);
    const std::string top = ranked[0];
    const pdp::Snapshot& s = *base;
    const std::vector<std::pair<std::string, Edit>> edits = {
        {"a role gains a glob",
         [](v1::Bundle& b) {
           b.mutable_roles(0)->add_tools(
               absl::StrCat(ServerOf(b.tools(b.tools_size() - 1).id()), ".*"));
         }},
        {"a client's ceiling loses a scope a called tool needs",
         [&](v1::Bundle& b) {
           for (const std::string& id : ranked) {
             const v1::Tool* tool = FindTool(b, id);
             if (tool->scopes().empty()) continue;
             for (v1::Client& client : *b.mutable_clients()) {
               auto* scopes = client.mutable_scopes();
               auto it =
                   std::find(scopes->begin(), scopes->end(), tool->scopes(0));
               if (it == scopes->end()) continue;
               scopes->erase(it);
               return;
             }
           }
         }},
        {"a deny rule on a role is added",
         [](v1::Bundle& b) {
           v1::DenyRule* rule = b.add_deny();
           rule->set_id("added-role-rule");
           rule->mutable_when()->add_roles(b.roles(1).id());
           rule->mutable_when()->add_servers(ServerOf(b.tools(0).id()));
         }},
        {"a deny rule on an agent, supervised, is added",
         [&](v1::Bundle& b) {
           for (const std::string& id : ranked) {
             for (const pdp::Snapshot::Agent& agent : s.agents()) {
               if (!agent.tools.Test(s.FindTool(id))) continue;
               v1::DenyRule* rule = b.add_deny();
               rule->set_id("added-agent-rule");
               rule->mutable_when()->add_agents(agent.id);
               rule->mutable_when()->set_autonomous(false);
               rule->mutable_when()->add_tools(id);
               return;
             }
           }
         }},
        {"an agent loses autonomy",
         [](v1::Bundle& b) {
           for (v1::Agent& agent : *b.mutable_agents()) {
             if (!agent.autonomous()) continue;
             agent.set_autonomous(false);
             return;
           }
         }},
        {"a called tool gains a data class",
         [&](v1::Bundle& b) {
           for (const std::string& id : ranked) {
             v1::Tool* tool = FindTool(b, id);
             for (const v1::RegistryEntry& data : b.data_classes()) {
               if (std::find(tool->data().begin(), tool->data().end(),
                             data.id()) == tool->data().end()) {
                 tool->add_data(data.id());
                 return;
               }
             }
           }
         }},
        {"a called tool's auth is raised",
         [&](v1::Bundle& b) {
           FindTool(b, top)->set_auth(v1::AUTH_STRENGTH_PHISHING_RESISTANT);
         }},
        {"called tools' autonomy becomes forbidden (or allowed)",
         [&](v1::Bundle& b) {
           for (size_t i = 0; i < 5; ++i) {
             v1::Tool* tool = FindTool(b, ranked[i]);
             tool->set_autonomy(tool->autonomy() == v1::AUTONOMY_FORBIDDEN
                                    ? v1::AUTONOMY_ALLOWED
                                    : v1::AUTONOMY_FORBIDDEN);
           }
         }},
        {"a client's trust is raised",
         [](v1::Bundle& b) {
           b.mutable_clients(0)->set_trust(v1::CLIENT_TRUST_INTERNAL);
         }},
        {"a user's roles change",
         [](v1::Bundle& b) {
           b.mutable_users(0)->clear_roles();
           b.mutable_users(0)->add_roles(b.roles(b.roles_size() - 1).id());
         }},
        {"roles lose their data",
         [](v1::Bundle& b) {
           for (v1::Role& role : *b.mutable_roles()) role.clear_data();
         }},
        {"a user, an agent, a client and a tool are added",
         [](v1::Bundle& b) {
           v1::User* user = b.add_users();
           user->set_id("new-user@acme.example");
           user->add_roles(b.roles(0).id());
           v1::Agent* agent = b.add_agents();
           agent->set_id("new-agent");
           agent->add_tools("*");
           v1::Client* client = b.add_clients();
           *client = b.clients(0);
           client->set_id("new-client");
           v1::Tool* tool = b.add_tools();
           *tool = b.tools(0);
           tool->set_id(absl::StrCat(b.tools(0).id(), "_copy"));
         }},
    };
    v1::Bundle all = base->bundle();
    for (const auto& [name, edit] : edits) {
      SCOPED_TRACE(absl::StrCat("seed ", seed, ": ", name));
      v1::Bundle bundle = base->bundle();
      edit(bundle);
      edit(all);
      auto edited = pdp::Compiler::Compile(bundle);
      ASSERT_TRUE(edited.ok()) << edited.status();
      const DiffResult result = DiffPolicies(*base, **edited);
      EXPECT_FALSE(result.groups.empty());
      ExpectSameAsReference(*base, **edited);
    }
    SCOPED_TRACE(absl::StrCat("seed ", seed, ": every edit"));
    auto edited = pdp::Compiler::Compile(all);
    ASSERT_TRUE(edited.ok()) << edited.status();
    ExpectSameAsReference(*base, **edited);
    ExpectSameAsReference(**edited, *base);
  }
}

}  // namespace
}  // namespace pdpctl
