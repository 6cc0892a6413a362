// DiffPolicies against a brute-force reference (pdp/diff/brute_force_diff.h):
// pdp::Check on both sides for every (chain, tool) of the policies' ids:
// every role subset under each id deny rules name and one they do not, the
// named users, every client, agent set of up to two, token scope subset,
// strength and autonomy, and every service. "Some request widens" and every
// (tool, client or service, old decision, new decision) changed must agree,
// on small generated policies (also without `users:`) and targeted edits.

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
#include "pdp/diff/brute_force_diff.h"
#include "pdp/diff/decision_diff.h"
#include "pdp/evaluator.h"
#include "pdp/testing/policy_generator.h"

namespace pdpctl {
namespace {

namespace v1 = pdp::v1;

// Every changed decision DiffPolicies reports, keyed as the brute force's.
std::set<pdp::testing::ChangeKey> Reported(const pdp::DecisionDiff& diff) {
  std::set<pdp::testing::ChangeKey> reported;
  for (const pdp::DecisionChange& c : diff.changes) {
    const std::string& tool = diff.tool_ids[c.tool];
    if (c.service >= 0) {
      reported.emplace(tool, "service:" + diff.service_ids[c.service],
                       c.old_decision, c.new_decision);
    }
    for (int client : c.clients) {
      reported.emplace(tool, diff.client_ids[client], c.old_decision,
                       c.new_decision);
    }
  }
  return reported;
}

// The brute force holds up to two agents per chain; so does the diff here.
constexpr int kAgents = 2;

void ExpectSameAsReference(const pdp::Snapshot& a, const pdp::Snapshot& b) {
  pdp::DiffOptions options;
  options.max_chain_agents = kAgents;
  absl::StatusOr<pdp::DecisionDiff> diff = pdp::DiffPolicies(a, b, options);
  ASSERT_TRUE(diff.ok()) << diff.status();
  const pdp::testing::BruteForceDiff expected =
      pdp::testing::DiffByBruteForce(a, b, kAgents);
  EXPECT_EQ(diff->Widens(), expected.widens);
  EXPECT_EQ(Reported(*diff), expected.changes);
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
  o.tools = 10;
  o.servers = 2;
  o.big_server_tools = 4;
  o.roles = 3;
  o.agents = 2;
  o.clients = 2;
  o.services = 1;
  o.users = 3;
  o.scopes = 3;
  o.data_classes = 3;
  o.deny_rules = 6;
  return o;
}

TEST(DiffReferenceTest, UnrelatedPolicies) {
  for (auto [x, y] : {std::pair<uint64_t, uint64_t>{7, 8}, {1, 2}}) {
    SCOPED_TRACE(absl::StrCat("seeds ", x, " and ", y));
    auto a = Generate(Small(x));
    auto b = Generate(Small(y));
    ASSERT_TRUE(a && b);
    ExpectSameAsReference(*a, *b);
    ExpectSameAsReference(*b, *a);
  }
}

// Policies without `users:`, as the directory-synced production shape:
// only role sets reach the tools.
TEST(DiffReferenceTest, PoliciesWithoutUsers) {
  pdp::testgen::PolicyGeneratorOptions o = Small(31);
  o.users = 0;
  auto a = Generate(o);
  o.seed = 32;
  auto b = Generate(o);
  ASSERT_TRUE(a && b);
  ExpectSameAsReference(*a, *b);
}

TEST(DiffReferenceTest, IdenticalPoliciesDiffEmpty) {
  auto a = Generate(Small(5));
  ASSERT_TRUE(a);
  absl::StatusOr<pdp::DecisionDiff> result = pdp::DiffPolicies(*a, *a);
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->changes.empty());
  EXPECT_FALSE(result->Widens());
}

// Many clients and deny rules.
TEST(DiffReferenceTest, ManyClientsAndRules) {
  pdp::testgen::PolicyGeneratorOptions o = Small(21);
  o.tools = 4;
  o.big_server_tools = 2;
  o.users = 2;
  o.agents = 1;
  o.roles = 2;
  o.scopes = 2;
  o.clients = 66;
  o.deny_rules = 30;
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
  for (uint64_t seed : {1}) {
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
        {"a called tool no longer requires a scope",
         [&](v1::Bundle& b) {
           for (const std::string& id : ranked) {
             v1::Tool* tool = FindTool(b, id);
             if (tool->scopes().empty()) continue;
             tool->mutable_scopes()->RemoveLast();
             return;
           }
         }},
        {"the last role inherits the first",
         [](v1::Bundle& b) {
           // Roles inherit only from earlier ones: no cycle.
           b.mutable_roles(b.roles_size() - 1)->add_inherits(b.roles(0).id());
         }},
        {"the users are removed (a directory-synced policy)",
         [](v1::Bundle& b) { b.clear_users(); }},
    };
    v1::Bundle all = base->bundle();
    size_t changing_edits = 0;
    for (const auto& [name, edit] : edits) {
      SCOPED_TRACE(absl::StrCat("seed ", seed, ": ", name));
      v1::Bundle bundle = base->bundle();
      edit(bundle);
      edit(all);
      auto edited = pdp::Compiler::Compile(bundle);
      ASSERT_TRUE(edited.ok()) << edited.status();
      absl::StatusOr<pdp::DecisionDiff> result =
          pdp::DiffPolicies(*base, **edited);
      ASSERT_TRUE(result.ok());
      // On a policy this small some edits change nothing; most must.
      changing_edits += !result->changes.empty();
      ExpectSameAsReference(*base, **edited);
    }
    EXPECT_GE(changing_edits, edits.size() / 2);
    SCOPED_TRACE(absl::StrCat("seed ", seed, ": every edit"));
    auto edited = pdp::Compiler::Compile(all);
    ASSERT_TRUE(edited.ok()) << edited.status();
    ExpectSameAsReference(*base, **edited);
    ExpectSameAsReference(**edited, *base);
  }
}

}  // namespace
}  // namespace pdpctl
