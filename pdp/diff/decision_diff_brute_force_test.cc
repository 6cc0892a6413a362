// DiffPolicies against brute force: random policy pairs over a small
// universe (including scope removals, role inheritance changes and policies
// without `users:`), and pdp::Check on both snapshots for every chain of the
// universe: every role subset (asserted, under several user ids), every
// named user, every client, no agent and every set of up to two agents,
// every token scope subset, every authentication strength, autonomous or
// not, and every service (registered scopes, or a token with any subset).
// "Some request widens" must agree (no miss, no false alarm), and every
// changed decision must be on a line of the diff with its tool, client and
// decisions, and every line must be some changed decision.

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "pdp/compiler.h"
#include "pdp/diff/brute_force_diff.h"
#include "pdp/diff/decision_diff.h"

namespace pdp {
namespace {

const std::vector<std::string> kScopes = {"s:a", "s:b", "s:c"};
const std::vector<std::string> kData = {"pii", "salary"};
const std::vector<std::string> kTools = {"srv.t0", "srv.t1", "srv.t2",
                                         "srv.t3"};
const std::vector<std::string> kRoles = {"r0", "r1", "r2"};
const std::vector<std::string> kAgents = {"a0", "a1", "a2"};
const std::vector<std::string> kClients = {"c0", "c1"};
const std::vector<std::string> kServices = {"v0"};
const std::vector<std::string> kUsers = {"u0@x", "u1@x"};
const char* const kTrust[] = {"untrusted", "standard", "trusted", "internal"};
const char* const kAuth[] = {"password", "mfa", "phishing_resistant"};
const char* const kAutonomy[] = {"allowed", "approval", "forbidden"};
const char* const kRisk[] = {"low", "medium", "high", "critical"};

// A policy of the universe, as plain values.
struct Policy {
  struct Tool {
    std::set<int> scopes, data;
    int autonomy = 0, auth = 0, trust = 0, risk = 1;
  };
  struct Role {
    bool present = true;
    std::set<int> tools, data, inherits;
  };
  struct Agent {
    std::set<int> tools, data;
    bool autonomous = false;
  };
  struct Client {
    int trust = 0;
    std::set<int> scopes;
    bool interactive = true;
  };
  struct Service {
    std::set<int> tools, scopes, data;
  };
  struct Rule {
    std::set<int> tools, roles, agents, clients, users, services, data;
    int trust_below = -1, risk_at_least = -1, autonomous = -1;
  };
  std::vector<Tool> tools;
  std::vector<Role> roles;
  std::vector<Agent> agents;
  std::vector<Client> clients;
  std::vector<Service> services;
  bool has_users = true;
  std::vector<std::set<int>> users;  // Roles of kUsers[i].
  std::vector<Rule> rules;
};

class Gen {
 public:
  explicit Gen(uint32_t seed) : rng_(seed) {}
  int Int(int n) { return static_cast<int>(rng_() % n); }
  bool Coin(int percent = 50) { return Int(100) < percent; }
  std::set<int> Subset(int n, int percent = 40) {
    std::set<int> s;
    for (int i = 0; i < n; ++i) {
      if (Coin(percent)) s.insert(i);
    }
    return s;
  }
  std::set<int> NonEmpty(int n, int percent = 40) {
    std::set<int> s = Subset(n, percent);
    if (s.empty()) s.insert(Int(n));
    return s;
  }

  Policy Random() {
    Policy p;
    for (size_t i = 0; i < kTools.size(); ++i) {
      Policy::Tool t;
      t.scopes = Subset(kScopes.size(), 30);
      t.data = Subset(kData.size(), 40);
      t.autonomy = Coin(60) ? 0 : Int(3);
      t.auth = Coin(60) ? 0 : Int(3);
      t.trust = Coin(60) ? 0 : Int(4);
      t.risk = Int(4);
      p.tools.push_back(t);
    }
    for (size_t i = 0; i < kRoles.size(); ++i) {
      Policy::Role r;
      r.tools = NonEmpty(kTools.size());
      r.data = Subset(kData.size());
      for (size_t j = 0; j < i; ++j) {
        if (Coin(30)) r.inherits.insert(j);
      }
      p.roles.push_back(r);
    }
    for (size_t i = 0; i < kAgents.size(); ++i) {
      Policy::Agent a;
      a.tools = NonEmpty(kTools.size(), 60);
      a.data = Subset(kData.size(), 60);
      a.autonomous = Coin();
      p.agents.push_back(a);
    }
    for (size_t i = 0; i < kClients.size(); ++i) {
      Policy::Client c;
      c.trust = Int(4);
      c.scopes = Subset(kScopes.size(), 70);
      c.interactive = Coin(75);
      p.clients.push_back(c);
    }
    for (size_t i = 0; i < kServices.size(); ++i) {
      Policy::Service v;
      v.tools = NonEmpty(kTools.size());
      v.scopes = Subset(kScopes.size(), 60);
      v.data = Subset(kData.size());
      p.services.push_back(v);
    }
    p.has_users = Coin();
    for (size_t i = 0; i < kUsers.size(); ++i) {
      p.users.push_back(NonEmpty(kRoles.size(), 30));
    }
    const int rules = Int(3);
    for (int i = 0; i < rules; ++i) p.rules.push_back(RandomRule());
    return p;
  }

  Policy::Rule RandomRule() {
    Policy::Rule r;
    r.tools = NonEmpty(kTools.size(), 50);
    // At least one chain condition, as an empty `when` is an error.
    bool any = false;
    while (!any) {
      if (Coin(25)) r.roles = NonEmpty(kRoles.size()), any = true;
      if (Coin(25)) r.agents = NonEmpty(kAgents.size()), any = true;
      if (Coin(20)) r.clients = NonEmpty(kClients.size()), any = true;
      if (Coin(15)) r.users = NonEmpty(kUsers.size()), any = true;
      if (Coin(10)) r.services = NonEmpty(kServices.size()), any = true;
      if (Coin(15)) r.trust_below = 1 + Int(3), any = true;
      if (Coin(25)) r.autonomous = Int(2), any = true;
      if (Coin(15)) r.data = NonEmpty(kData.size()), any = true;
      if (Coin(15)) r.risk_at_least = Int(4), any = true;
    }
    return r;
  }

  // One to three random edits, biased to those that hide widenings.
  Policy Mutate(Policy p) {
    const int edits = 1 + Int(3);
    for (int e = 0; e < edits; ++e) {
      Policy::Tool& t = p.tools[Int(p.tools.size())];
      Policy::Role& r = p.roles[Int(p.roles.size())];
      switch (Int(14)) {
        case 0:  // Remove or add a required scope.
          if (!t.scopes.empty() && Coin()) {
            t.scopes.erase(t.scopes.begin());
          } else {
            t.scopes.insert(Int(kScopes.size()));
          }
          break;
        case 1: {  // Inheritance.
          const int i = Int(p.roles.size());
          if (i > 0) {
            const int j = Int(i);
            if (!p.roles[i].inherits.erase(j)) p.roles[i].inherits.insert(j);
          }
          break;
        }
        case 2:
          p.has_users = !p.has_users;
          break;
        case 3:
          r.tools = NonEmpty(kTools.size());
          break;
        case 4:
          r.data = Subset(kData.size());
          break;
        case 5: {
          Policy::Agent& a = p.agents[Int(p.agents.size())];
          if (Coin()) a.autonomous = !a.autonomous;
          else a.tools = NonEmpty(kTools.size(), 60);
          if (Coin()) a.data = Subset(kData.size(), 60);
          break;
        }
        case 6: {
          Policy::Client& c = p.clients[Int(p.clients.size())];
          if (Coin()) c.interactive = !c.interactive;
          else if (Coin()) c.trust = Int(4);
          else c.scopes = Subset(kScopes.size(), 70);
          break;
        }
        case 7:
          if (!p.rules.empty() && Coin()) {
            p.rules.erase(p.rules.begin() + Int(p.rules.size()));
          } else {
            p.rules.push_back(RandomRule());
          }
          break;
        case 8:
          t.auth = Int(3);
          break;
        case 9:
          t.autonomy = Int(3);
          break;
        case 10:
          t.data = Subset(kData.size(), 40);
          break;
        case 11:
          p.users[Int(p.users.size())] = NonEmpty(kRoles.size(), 30);
          break;
        case 12: {
          Policy::Service& v = p.services[0];
          if (Coin()) v.scopes = Subset(kScopes.size(), 60);
          else v.tools = NonEmpty(kTools.size());
          break;
        }
        default:
          t.trust = Int(4);
          break;
      }
    }
    return p;
  }

 private:
  std::mt19937 rng_;
};

std::string List(const std::set<int>& items,
                 const std::vector<std::string>& names) {
  std::vector<std::string> quoted;
  for (int i : items) quoted.push_back(absl::StrCat("\"", names[i], "\""));
  return absl::StrCat("[", absl::StrJoin(quoted, ", "), "]");
}

std::string Yaml(const Policy& p) {
  std::string y = "tools:\n";
  for (size_t i = 0; i < p.tools.size(); ++i) {
    const Policy::Tool& t = p.tools[i];
    absl::StrAppend(&y, "  - id: ", kTools[i], "\n    scopes: ",
                    List(t.scopes, kScopes), "\n    data: ",
                    List(t.data, kData), "\n    autonomy: ",
                    kAutonomy[t.autonomy], "\n    auth: ", kAuth[t.auth],
                    "\n    min_client_trust: ", kTrust[t.trust],
                    "\n    risk: ", kRisk[t.risk], "\n");
  }
  y += "roles:\n";
  for (size_t i = 0; i < p.roles.size(); ++i) {
    const Policy::Role& r = p.roles[i];
    absl::StrAppend(&y, "  - id: ", kRoles[i], "\n    tools: ",
                    List(r.tools, kTools), "\n    data: ", List(r.data, kData),
                    "\n");
    if (!r.inherits.empty()) {
      absl::StrAppend(&y, "    inherits: ", List(r.inherits, kRoles), "\n");
    }
  }
  y += "agents:\n";
  for (size_t i = 0; i < p.agents.size(); ++i) {
    const Policy::Agent& a = p.agents[i];
    absl::StrAppend(&y, "  - id: ", kAgents[i], "\n    tools: ",
                    List(a.tools, kTools), "\n    data: ", List(a.data, kData),
                    "\n    autonomous: ", a.autonomous ? "true" : "false",
                    "\n");
  }
  y += "clients:\n";
  for (size_t i = 0; i < p.clients.size(); ++i) {
    const Policy::Client& c = p.clients[i];
    absl::StrAppend(&y, "  - id: ", kClients[i], "\n    trust: ",
                    kTrust[c.trust], "\n    scopes: ", List(c.scopes, kScopes),
                    "\n    interactive: ", c.interactive ? "true" : "false",
                    "\n");
  }
  y += "services:\n";
  for (size_t i = 0; i < p.services.size(); ++i) {
    const Policy::Service& v = p.services[i];
    absl::StrAppend(&y, "  - id: ", kServices[i], "\n    tools: ",
                    List(v.tools, kTools), "\n    scopes: ",
                    List(v.scopes, kScopes), "\n    data: ",
                    List(v.data, kData), "\n");
  }
  if (p.has_users) {
    y += "users:\n";
    for (size_t i = 0; i < p.users.size(); ++i) {
      absl::StrAppend(&y, "  - id: \"", kUsers[i], "\"\n    roles: ",
                      List(p.users[i], kRoles), "\n");
    }
  }
  if (!p.rules.empty()) y += "deny:\n";
  for (size_t i = 0; i < p.rules.size(); ++i) {
    const Policy::Rule& r = p.rules[i];
    std::vector<std::string> when = {
        absl::StrCat("tools: ", List(r.tools, kTools))};
    if (!r.roles.empty()) when.push_back("roles: " + List(r.roles, kRoles));
    if (!r.agents.empty()) when.push_back("agents: " + List(r.agents, kAgents));
    if (!r.clients.empty()) {
      when.push_back("clients: " + List(r.clients, kClients));
    }
    if (!r.users.empty()) when.push_back("users: " + List(r.users, kUsers));
    if (!r.services.empty()) {
      when.push_back("services: " + List(r.services, kServices));
    }
    if (!r.data.empty()) when.push_back("data: " + List(r.data, kData));
    if (r.trust_below >= 0) {
      when.push_back(absl::StrCat("client_trust_below: ", kTrust[r.trust_below]));
    }
    if (r.risk_at_least >= 0) {
      when.push_back(absl::StrCat("risk_at_least: ", kRisk[r.risk_at_least]));
    }
    if (r.autonomous >= 0) {
      when.push_back(absl::StrCat("autonomous: ",
                                  r.autonomous == 1 ? "true" : "false"));
    }
    absl::StrAppend(&y, "  - id: rule", i, "\n    when: {",
                    absl::StrJoin(when, ", "), "}\n");
  }
  return y;
}

std::shared_ptr<const Snapshot> Compile(const Policy& p,
                                        const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/policy.yaml") << Yaml(p);
  auto snapshot = Compiler::CompileDirectory(dir);
  EXPECT_TRUE(snapshot.ok()) << snapshot.status() << "\n" << Yaml(p);
  return snapshot.ok() ? *snapshot : nullptr;
}

void ExpectAgrees(const Policy& old_policy, const Policy& new_policy,
                  const std::string& what) {
  auto a = Compile(old_policy, "old");
  auto b = Compile(new_policy, "new");
  ASSERT_TRUE(a != nullptr && b != nullptr);
  DiffOptions options;
  options.max_chain_agents = 2;  // As the brute force's agent sets.
  absl::StatusOr<DecisionDiff> diff = DiffPolicies(*a, *b, options);
  ASSERT_TRUE(diff.ok()) << diff.status();
  const testing::BruteForceDiff brute =
      testing::DiffByBruteForce(*a, *b, options.max_chain_agents);
  std::set<testing::ChangeKey> reported;
  for (const DecisionChange& c : diff->changes) {
    const std::string& tool = diff->tool_ids[c.tool];
    if (c.service >= 0) {
      reported.emplace(tool, "service:" + diff->service_ids[c.service],
                       c.old_decision, c.new_decision);
    }
    for (int client : c.clients) {
      reported.emplace(tool, diff->client_ids[client], c.old_decision,
                       c.new_decision);
    }
  }
  std::string lines;
  for (const DecisionChange& c : diff->changes) {
    lines += DescribeChange(*diff, c) + "\n";
  }
  EXPECT_EQ(diff->Widens(), brute.widens)
      << what << "\nold:\n" << Yaml(old_policy) << "new:\n"
      << Yaml(new_policy) << "diff:\n" << lines;
  EXPECT_EQ(reported, brute.changes)
      << what << "\nold:\n" << Yaml(old_policy) << "new:\n"
      << Yaml(new_policy) << "diff:\n" << lines;
}

TEST(DecisionDiffBruteForceTest, RandomPolicyPairs) {
  int widening = 0;
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    Gen gen(seed);
    const Policy old_policy = gen.Random();
    const Policy new_policy = gen.Mutate(old_policy);
    ExpectAgrees(old_policy, new_policy, absl::StrCat("seed ", seed));
    if (HasFailure()) return;
    auto a = Compile(old_policy, "old");
    auto b = Compile(new_policy, "new");
    DiffOptions options;
    options.max_chain_agents = 2;
    widening += DiffPolicies(*a, *b, options)->Widens();
  }
  // Both answers occur, so neither is vacuous.
  EXPECT_GT(widening, 5);
  EXPECT_LT(widening, 40);
}

TEST(DecisionDiffBruteForceTest, UnrelatedPolicies) {
  for (uint32_t seed = 100; seed <= 106; ++seed) {
    Gen gen(seed);
    const Policy old_policy = gen.Random();
    const Policy new_policy = gen.Random();
    ExpectAgrees(old_policy, new_policy, absl::StrCat("seed ", seed));
    if (HasFailure()) return;
  }
}

TEST(DecisionDiffBruteForceTest, IdenticalPoliciesHaveNoChanges) {
  Gen gen(7);
  const Policy p = gen.Random();
  auto a = Compile(p, "same");
  ASSERT_TRUE(a != nullptr);
  absl::StatusOr<DecisionDiff> diff = DiffPolicies(*a, *a);
  ASSERT_TRUE(diff.ok());
  EXPECT_TRUE(diff->changes.empty());
  EXPECT_FALSE(diff->Widens());
}

}  // namespace
}  // namespace pdp
