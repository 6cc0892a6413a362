#include "tools/pdpctl/diff.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pdp/compiler.h"
#include "pdp/evaluator.h"
#include "pdp/testing/policy_generator.h"
#include "tools/pdpctl/commands.h"

namespace pdpctl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// testdata/diff_new is testdata/policy with the sales role granted
// crm.export_contacts (a widening) and a deny rule taking hr.get_salary from
// the payroll assistant (a narrowing).
constexpr char kOld[] = "tools/pdpctl/testdata/policy";
constexpr char kNew[] = "tools/pdpctl/testdata/diff_new";

struct Result {
  int code;
  std::string out, err;
};

Result Pdpctl(const std::vector<std::string>& argv) {
  std::ostringstream out, err;
  int code = Run(argv, out, err);
  return {code, out.str(), err.str()};
}

std::string TempDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(DiffCommandTest, PrintsGroupedChangesAndSummary) {
  Result r = Pdpctl({"diff", kOld, kNew});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "widens:\n"
            "  2 users gain crm.export_contacts (no agent) via client "
            "internal-app (ALLOW, was DENY)\n"
            "  agent sales-assistant gains crm.export_contacts for 2 users "
            "via client internal-app (ALLOW, was DENY)\n"
            "narrows:\n"
            "  user alice@acme.example with agent payroll-assistant loses "
            "hr.get_salary via client internal-app (DENY, was STEP_UP mfa)\n"
            // 2 users x 2 autonomy x (no agent, sales-assistant) widen;
            // alice x 2 autonomy narrow.
            "8 decisions widen, 2 narrow, 0 change otherwise\n");
}

TEST(DiffCommandTest, ReverseDiffSwapsWidenAndNarrow) {
  Result r = Pdpctl({"diff", kNew, kOld});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("  user alice@acme.example with agent "
                               "payroll-assistant gains hr.get_salary via "
                               "client internal-app (STEP_UP mfa, was DENY)\n"));
  EXPECT_THAT(r.out, HasSubstr("2 decisions widen, 8 narrow, 0 change "
                               "otherwise\n"));
}

TEST(DiffCommandTest, FailOnWidenExitsOneWhenSomethingWidens) {
  Result r = Pdpctl({"diff", kOld, kNew, "--fail-on-widen"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_THAT(r.out, HasSubstr("8 decisions widen"));
}

TEST(DiffCommandTest, FailOnWidenExitsZeroWhenChangesOnlyNarrow) {
  // The old policy plus the deny rule only: hr.get_salary narrows.
  const std::string dir = TempDir("narrow_only");
  std::filesystem::copy(absl::StrCat(kOld, "/tools.yaml"), dir);
  std::filesystem::copy(absl::StrCat(kOld, "/identities.yaml"), dir);
  std::filesystem::copy(absl::StrCat(kNew, "/deny.yaml"), dir);
  Result r = Pdpctl({"diff", kOld, dir, "--fail-on-widen"});
  EXPECT_EQ(r.code, kExitOk) << r.out << r.err;
  EXPECT_THAT(r.out, Not(HasSubstr("widens:")));
  EXPECT_THAT(r.out, HasSubstr("0 decisions widen, 2 narrow, 0 change "
                               "otherwise\n"));
}

TEST(DiffCommandTest, IdenticalPoliciesHaveNoChanges) {
  Result r = Pdpctl({"diff", kOld, kOld, "--fail-on-widen"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, "0 decisions widen, 0 narrow, 0 change otherwise\n");
}

TEST(DiffCommandTest, JsonListsTheChanges) {
  Result r = Pdpctl({"diff", kOld, kNew, "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["widen"], 8);
  EXPECT_EQ(j["narrow"], 2);
  EXPECT_EQ(j["other"], 0);
  ASSERT_EQ(j["changes"].size(), 3u);
  const nlohmann::json& narrow = j["changes"][2];
  EXPECT_EQ(narrow["kind"], "narrow");
  EXPECT_EQ(narrow["tool"], "hr.get_salary");
  EXPECT_EQ(narrow["agent"], "payroll-assistant");
  EXPECT_EQ(narrow["users"], nlohmann::json({"alice@acme.example"}));
  EXPECT_EQ(narrow["old"], "STEP_UP mfa");
  EXPECT_EQ(narrow["new"], "DENY");
  EXPECT_EQ(narrow["decisions"], 2);
}

TEST(DiffCommandTest, UsageErrors) {
  EXPECT_EQ(Pdpctl({"diff", kOld}).code, kExitUsage);
  EXPECT_EQ(Pdpctl({"diff", kOld, "tools/pdpctl/testdata/no-such-dir"}).code,
            kExitUsage);
}

TEST(DiffPoliciesTest, RedactionChangesAreClassified) {
  // Taking pii from the sales-assistant agent makes its calls redact more.
  const std::string dir = TempDir("more_redaction");
  std::filesystem::copy(absl::StrCat(kOld, "/tools.yaml"), dir);
  std::filesystem::copy(absl::StrCat(kOld, "/deny.yaml"), dir);
  std::ifstream in(absl::StrCat(kOld, "/identities.yaml"));
  std::stringstream text;
  text << in.rdbuf();
  std::string identities = text.str();
  const std::string from =
      "    tools: [\"crm.*\", \"calendar.*\", \"email.*\"]\n    data: [pii]\n";
  ASSERT_NE(identities.find(from), std::string::npos);
  identities.replace(identities.find(from), from.size(),
                     "    tools: [\"crm.*\", \"calendar.*\", \"email.*\"]\n");
  std::ofstream(absl::StrCat(dir, "/identities.yaml")) << identities;

  auto old_policy = pdp::Compiler::CompileDirectory(kOld);
  auto new_policy = pdp::Compiler::CompileDirectory(dir);
  ASSERT_TRUE(old_policy.ok() && new_policy.ok()) << new_policy.status();
  DiffResult narrowing = DiffPolicies(**old_policy, **new_policy);
  EXPECT_GT(narrowing.narrow, 0);
  EXPECT_EQ(narrowing.widen, 0);
  EXPECT_EQ(narrowing.other, 0);
  ASSERT_FALSE(narrowing.groups.empty());
  for (const ChangeGroup& g : narrowing.groups) {
    EXPECT_EQ(g.agent, "sales-assistant");
    EXPECT_THAT(g.new_decision, HasSubstr("redact pii"));
  }
  DiffResult widening = DiffPolicies(**new_policy, **old_policy);
  EXPECT_EQ(widening.widen, narrowing.narrow);
  EXPECT_EQ(widening.narrow, 0);
}

// Brute force: Check() every chain on both sides and count the changed
// decisions per tool; DiffPolicies, which checks only what can differ, must
// find the same.
std::map<std::string, int64_t> BruteForce(const pdp::Snapshot& a,
                                          const pdp::Snapshot& b) {
  std::set<std::string> users, clients, agents, services, tools, scopes;
  for (const pdp::Snapshot* s : {&a, &b}) {
    for (const auto& x : s->users()) users.insert(x.id);
    for (const auto& x : s->clients()) clients.insert(x.id);
    for (const auto& x : s->agents()) agents.insert(x.id);
    for (const auto& x : s->services()) services.insert(x.id);
    for (const auto& x : s->tools()) tools.insert(x.id);
  }
  auto ceiling = [](const pdp::Snapshot& s, const std::string& client) {
    std::set<std::string> names;
    int c = s.FindClient(client);
    if (c >= 0) {
      s.clients()[c].scopes.ForEach(
          [&](size_t i) { names.insert(s.scopes()[i]); });
    }
    return names;
  };
  auto describe = [](const pdp::Snapshot& s, const pdp::Decision& d) {
    return absl::StrCat(d.effect, "/", d.step_up, "/",
                        absl::StrJoin(s.DataClassNames(d.redact), ","));
  };
  std::vector<pdp::Chain> chains;
  for (const std::string& user : users) {
    for (const std::string& client : clients) {
      std::set<std::string> token = ceiling(a, client);
      for (const std::string& scope : ceiling(b, client)) token.insert(scope);
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
          chains.push_back(chain);
        }
      }
    }
  }
  for (const std::string& service : services) {
    pdp::Chain chain;
    chain.service_id = service;
    chains.push_back(chain);
  }
  std::map<std::string, int64_t> changed;
  for (const pdp::Chain& chain : chains) {
    for (const std::string& tool : tools) {
      pdp::Request request{chain, tool, pdp::Action::kCall};
      auto x = pdp::Check(a, request);
      auto y = pdp::Check(b, request);
      EXPECT_TRUE(x.ok() && y.ok());
      if (describe(a, *x) != describe(b, *y)) ++changed[tool];
    }
  }
  return changed;
}

std::map<std::string, int64_t> PerTool(const DiffResult& result) {
  std::map<std::string, int64_t> changed;
  for (const ChangeGroup& g : result.groups) changed[g.tool] += g.decisions;
  return changed;
}

// Applies the first match of each (regex, replacement).
pdp::testgen::PolicyFiles Mutate(
    pdp::testgen::PolicyFiles files,
    const std::vector<std::pair<std::string, std::string>>& edits) {
  for (const auto& [pattern, replacement] : edits) {
    std::regex re(pattern);
    for (auto& [path, text] : files) {
      if (std::regex_search(text, re)) {
        text = std::regex_replace(text, re, replacement,
                                  std::regex_constants::format_first_only);
        break;
      }
    }
  }
  return files;
}

std::shared_ptr<const pdp::Snapshot> CompileFiles(
    const pdp::testgen::PolicyFiles& files, const std::string& name) {
  const std::string dir = TempDir(name);
  EXPECT_TRUE(pdp::testgen::WritePolicyFiles(files, dir).ok());
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

TEST(DiffPoliciesTest, AgreesWithCheckingEveryChainOnEdits) {
  const std::vector<std::pair<std::string, std::string>> edits = {
      {"autonomy: allowed", "autonomy: forbidden"},
      {"autonomy: approval", "autonomy: allowed"},
      {"min_client_trust: untrusted", "min_client_trust: internal"},
      {"auth: password", "auth: mfa"},
      {"autonomous: true", "autonomous: false"},
      {"client_trust_below: trusted", "client_trust_below: internal"},
      {"\n    roles: \\[[^\\]]*\\]", "\n    roles: []"},  // A user's.
      {"trust: standard", "trust: internal"},
      // An agent's first data class, a client's first ceiling scope.
      {"data: \\[\"[^\"]*\", ", "data: ["},
      {"scopes: \\[\"[^\"]*\", ", "scopes: ["},
  };
  for (uint64_t seed : {1, 2, 3, 4}) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    pdp::testgen::PolicyFiles files = pdp::testgen::GeneratePolicy(Small(seed));
    auto a = CompileFiles(files, "gen_old");
    auto b = CompileFiles(Mutate(files, edits), "gen_new");
    ASSERT_TRUE(a && b);
    DiffResult result = DiffPolicies(*a, *b);
    std::map<std::string, int64_t> expected = BruteForce(*a, *b);
    EXPECT_FALSE(expected.empty());
    EXPECT_EQ(PerTool(result), expected);
    int64_t total = 0;
    for (const auto& [tool, n] : expected) total += n;
    EXPECT_EQ(result.widen + result.narrow + result.other, total);
  }
}

TEST(DiffPoliciesTest, AgreesWithCheckingEveryChainOnUnrelatedPolicies) {
  // Different seeds: different ids, tools, data class indices, everything.
  auto a = CompileFiles(pdp::testgen::GeneratePolicy(Small(7)), "gen_a");
  auto b = CompileFiles(pdp::testgen::GeneratePolicy(Small(8)), "gen_b");
  ASSERT_TRUE(a && b);
  DiffResult result = DiffPolicies(*a, *b);
  EXPECT_EQ(PerTool(result), BruteForce(*a, *b));
  DiffResult same = DiffPolicies(*a, *a);
  EXPECT_TRUE(same.groups.empty());
  EXPECT_EQ(same.widen + same.narrow + same.other, 0);
}

}  // namespace
}  // namespace pdpctl
