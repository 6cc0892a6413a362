#include "tools/pdpctl/diff.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pdp/compiler.h"
#include "pdp/diff/decision_diff.h"
#include "pdp/evaluator.h"
#include "tools/pdpctl/commands.h"
#include "tools/pdpctl/pdpctl_testing.h"

namespace pdpctl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// testdata/diff_new is testdata/policy with the sales role granted
// crm.export_contacts (a widening) and a deny rule taking hr.get_salary from
// the payroll assistant (a narrowing).
constexpr char kOld[] = "tools/pdpctl/testdata/policy";
constexpr char kNew[] = "tools/pdpctl/testdata/diff_new";

using Result = PdpctlResult;

std::string TempDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// A copy of testdata/policy, in a temporary directory `name`, whose
// identities.yaml has `from` replaced by `to`.
std::string EditedPolicy(const std::string& name, const std::string& from,
                         const std::string& to) {
  const std::string dir = TempDir(name);
  std::filesystem::copy(absl::StrCat(kOld, "/tools.yaml"), dir);
  std::filesystem::copy(absl::StrCat(kOld, "/deny.yaml"), dir);
  std::ifstream in(absl::StrCat(kOld, "/identities.yaml"));
  std::stringstream text;
  text << in.rdbuf();
  std::string identities = text.str();
  EXPECT_NE(identities.find(from), std::string::npos) << from;
  if (identities.find(from) != std::string::npos) {
    identities.replace(identities.find(from), from.size(), to);
  }
  std::ofstream(absl::StrCat(dir, "/identities.yaml")) << identities;
  return dir;
}

TEST(DiffCommandTest, PrintsChangesAndSummary) {
  Result r = RunPdpctl({"diff", kOld, kNew});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(
      r.out,
      "widens:\n"
      "  users with roles [executive or sales] with no agent (or agents "
      "allowing all) via client internal-app, token scopes "
      "[contacts:export], any strength: gain crm.export_contacts (ALLOW, was "
      "DENY)\n"
      "  users alice@acme.example, bob@acme.example with no agent (or agents "
      "allowing all) via client internal-app, token scopes "
      "[contacts:export], any strength: gain crm.export_contacts (ALLOW, was "
      "DENY)\n"
      "narrows:\n"
      "  users with roles [executive] with agent payroll-assistant via client "
      "internal-app, token scopes [hr:read], mfa or phishing_resistant, a "
      "human in the loop: lose hr.get_salary (DENY, was ALLOW)\n"
      "  users with roles [executive] with agent payroll-assistant via client "
      "internal-app, token scopes [hr:read], mfa or phishing_resistant, "
      "autonomous: lose hr.get_salary (DENY, was REQUIRE_APPROVAL)\n"
      "  users with roles [executive] with agent payroll-assistant via client "
      "internal-app, token scopes [hr:read], password: lose hr.get_salary "
      "(DENY, was STEP_UP mfa)\n"
      "  user alice@acme.example with agent payroll-assistant via client "
      "internal-app, token scopes [hr:read], mfa or phishing_resistant, a "
      "human in the loop: lose hr.get_salary (DENY, was ALLOW)\n"
      "  user alice@acme.example with agent payroll-assistant via client "
      "internal-app, token scopes [hr:read], mfa or phishing_resistant, "
      "autonomous: lose hr.get_salary (DENY, was REQUIRE_APPROVAL)\n"
      "  user alice@acme.example with agent payroll-assistant via client "
      "internal-app, token scopes [hr:read], password: lose hr.get_salary "
      "(DENY, was STEP_UP mfa)\n"
      "2 changes widen, 6 narrow, 0 widen and narrow\n");
}

TEST(DiffCommandTest, ReverseDiffSwapsWidenAndNarrow) {
  Result r = RunPdpctl({"diff", kNew, kOld});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out,
              HasSubstr("  user alice@acme.example with agent "
                        "payroll-assistant via client internal-app, token "
                        "scopes [hr:read], password: gain hr.get_salary "
                        "(STEP_UP mfa, was DENY)\n"));
  EXPECT_THAT(r.out,
              HasSubstr("6 changes widen, 2 narrow, 0 widen and narrow\n"));
}

TEST(DiffCommandTest, FailOnWidenExitsOneWhenSomethingWidens) {
  Result r = RunPdpctl({"diff", kOld, kNew, "--fail-on-widen"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_THAT(r.out, HasSubstr("2 changes widen"));
}

TEST(DiffCommandTest, FailOnWidenExitsZeroWhenChangesOnlyNarrow) {
  // The old policy plus the deny rule only: hr.get_salary narrows.
  const std::string dir = TempDir("narrow_only");
  std::filesystem::copy(absl::StrCat(kOld, "/tools.yaml"), dir);
  std::filesystem::copy(absl::StrCat(kOld, "/identities.yaml"), dir);
  std::filesystem::copy(absl::StrCat(kNew, "/deny.yaml"), dir);
  Result r = RunPdpctl({"diff", kOld, dir, "--fail-on-widen"});
  EXPECT_EQ(r.code, kExitOk) << r.out << r.err;
  EXPECT_THAT(r.out, Not(HasSubstr("widens:")));
  EXPECT_THAT(r.out,
              HasSubstr("0 changes widen, 6 narrow, 0 widen and narrow\n"));
}

TEST(DiffCommandTest, IdenticalPoliciesHaveNoChanges) {
  Result r = RunPdpctl({"diff", kOld, kOld, "--fail-on-widen"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, "0 changes widen, 0 narrow, 0 widen and narrow\n");
}

TEST(DiffCommandTest, JsonListsTheChanges) {
  Result r = RunPdpctl({"diff", kOld, kNew, "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["widen"], 2);
  EXPECT_EQ(j["narrow"], 6);
  EXPECT_EQ(j["mixed"], 0);
  ASSERT_EQ(j["changes"].size(), 8u);
  const nlohmann::json& narrow = j["changes"][7];
  EXPECT_EQ(narrow["kind"], "narrow");
  EXPECT_EQ(narrow["tool"], "hr.get_salary");
  EXPECT_EQ(narrow["agents"],
            nlohmann::json::parse(R"([["payroll-assistant"]])"));
  EXPECT_EQ(narrow["users"], nlohmann::json({"alice@acme.example"}));
  EXPECT_EQ(narrow["clients"], nlohmann::json({"internal-app"}));
  EXPECT_EQ(narrow["token_scopes"], nlohmann::json::parse(R"([["hr:read"]])"));
  EXPECT_EQ(narrow["strengths"], nlohmann::json({"password"}));
  EXPECT_EQ(narrow["old"], "STEP_UP mfa");
  EXPECT_EQ(narrow["new"], "DENY");
  const nlohmann::json& widen = j["changes"][0];
  EXPECT_EQ(widen["roles"],
            nlohmann::json::parse(R"([["executive", "sales"]])"));
  EXPECT_EQ(widen["agents"], nlohmann::json::array());
}

TEST(DiffCommandTest, JsonIsWhatNlohmannDumps) {
  // Ids that need escaping, or are not ASCII, among those in the changes.
  const std::string dir = TempDir("odd_ids");
  std::filesystem::copy(absl::StrCat(kNew, "/tools.yaml"), dir);
  std::filesystem::copy(absl::StrCat(kNew, "/deny.yaml"), dir);
  std::ifstream in(absl::StrCat(kNew, "/identities.yaml"));
  std::stringstream text;
  text << in.rdbuf();
  std::ofstream(absl::StrCat(dir, "/identities.yaml"))
      << text.str()
      << "  - id: \"zo\u00eb \\\"q\\\" \\\\ \\t@acme.example\"\n"
         "    roles: [sales]\n";
  for (const std::string& new_dir : {std::string(kNew), dir}) {
    Result r = RunPdpctl({"diff", kOld, new_dir, "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out).dump() + "\n", r.out);
  }
  Result r = RunPdpctl({"diff", kOld, dir, "--json"});
  EXPECT_THAT(r.out, HasSubstr("\"zo\u00eb \\\"q\\\" \\\\ \\t@acme.example\""));
}

TEST(DiffCommandTest, UsageErrors) {
  EXPECT_EQ(RunPdpctl({"diff", kOld}).code, kExitUsage);
  EXPECT_EQ(
      RunPdpctl({"diff", kOld, kNew, "--max-delegation-depth", "0"}).code,
      kExitUsage);
  EXPECT_EQ(RunPdpctl({"diff", kOld, "tools/pdpctl/testdata/no-such-dir"}).code,
            kExitUsage);
}

absl::StatusOr<pdp::DecisionDiff> Diff(const std::string& old_dir,
                                       const std::string& new_dir) {
  auto old_policy = pdp::Compiler::CompileDirectory(old_dir);
  auto new_policy = pdp::Compiler::CompileDirectory(new_dir);
  EXPECT_TRUE(old_policy.ok()) << old_policy.status();
  EXPECT_TRUE(new_policy.ok()) << new_policy.status();
  if (!old_policy.ok()) return old_policy.status();
  if (!new_policy.ok()) return new_policy.status();
  return pdp::DiffPolicies(**old_policy, **new_policy);
}

TEST(DiffPoliciesTest, RedactionOnlyChangesReadAsSuch) {
  // Taking pii from the sales-assistant agent makes its calls redact more:
  // they are still allowed, so nothing is "lost".
  const std::string agent =
      "    tools: [\"crm.*\", \"calendar.*\", \"email.*\"]\n";
  const std::string dir =
      EditedPolicy("more_redaction", agent + "    data: [pii]\n", agent);
  absl::StatusOr<pdp::DecisionDiff> narrowing = Diff(kOld, dir);
  ASSERT_TRUE(narrowing.ok()) << narrowing.status();
  EXPECT_GT(narrowing->narrow, 0);
  EXPECT_EQ(narrowing->widen, 0);
  EXPECT_EQ(narrowing->mixed, 0);
  EXPECT_FALSE(narrowing->Widens());
  for (const pdp::DecisionChange& c : narrowing->changes) {
    ASSERT_EQ(c.agents.size(), 1u);
    ASSERT_EQ(c.agents[0].size(), 1u);
    EXPECT_EQ(narrowing->agent_ids[c.agents[0][0]], "sales-assistant");
    EXPECT_THAT(c.new_decision, HasSubstr("redact pii"));
    const std::string line = pdp::DescribeChange(*narrowing, c);
    EXPECT_THAT(line, HasSubstr(": redact more of "));
    EXPECT_THAT(line, Not(HasSubstr("lose")));
  }
  absl::StatusOr<pdp::DecisionDiff> widening = Diff(dir, kOld);
  ASSERT_TRUE(widening.ok());
  EXPECT_EQ(widening->widen, narrowing->narrow);
  EXPECT_EQ(widening->narrow, 0);
  EXPECT_TRUE(widening->Widens());
  for (const pdp::DecisionChange& c : widening->changes) {
    EXPECT_THAT(pdp::DescribeChange(*widening, c),
                HasSubstr(": redact less of "));
  }
}

// A client that stops being interactive makes its chains autonomous (a
// narrowing); the reverse lifts approvals and autonomy bans (a widening
// that --fail-on-widen must catch).
TEST(DiffPoliciesTest, AClientsInteractivityIsAChange) {
  const std::string client = "  - id: internal-app\n    trust: internal\n";
  const std::string dir = EditedPolicy("non_interactive", client,
                                       client + "    interactive: false\n");
  absl::StatusOr<pdp::DecisionDiff> narrowing = Diff(kOld, dir);
  ASSERT_TRUE(narrowing.ok());
  EXPECT_FALSE(narrowing->Widens());
  EXPECT_GT(narrowing->narrow, 0);
  absl::StatusOr<pdp::DecisionDiff> widening = Diff(dir, kOld);
  ASSERT_TRUE(widening.ok());
  EXPECT_TRUE(widening->Widens());
  bool named = false;
  for (const pdp::DecisionChange& c : widening->changes) {
    named |= c.clients.size() == 1 &&
             widening->client_ids[c.clients[0]] == "internal-app" &&
             c.not_autonomous && !c.autonomous;
  }
  EXPECT_TRUE(named);
  Result gate = RunPdpctl({"diff", dir, kOld, "--fail-on-widen"});
  EXPECT_EQ(gate.code, 1) << gate.out;
}

constexpr char kAcme[] = "examples/policies/acme";

// A copy of the Acme example in a temporary directory `name`, without the
// files in `drop`, with `from` replaced by `to` in `file`.
std::string EditedAcme(const std::string& name, const std::string& file,
                       const std::string& from, const std::string& to,
                       const std::vector<std::string>& drop = {}) {
  const std::string dir = TempDir(name);
  for (const auto& entry : std::filesystem::directory_iterator(kAcme)) {
    const std::string base = entry.path().filename().string();
    if (entry.path().extension() != ".yaml") continue;
    if (std::find(drop.begin(), drop.end(), base) != drop.end()) continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    std::string content = text.str();
    if (base == file) {
      EXPECT_NE(content.find(from), std::string::npos) << from;
      if (content.find(from) != std::string::npos) {
        content.replace(content.find(from), from.size(), to);
      }
    }
    std::ofstream(absl::StrCat(dir, "/", base)) << content;
  }
  return dir;
}

// Issue #11: removing `scopes: [contacts:read]` from crm.search_contacts
// once reported 0 widenings (the old diff gave every token its client's
// full ceiling), while bob with a calendar:read token goes DENY -> ALLOW.
TEST(DiffPoliciesTest, RegressionScopeRemovalWidens) {
  const std::string old_dir = EditedAcme("acme_same", "tools.yaml", "", "");
  const std::string new_dir = EditedAcme(
      "acme_scope", "tools.yaml",
      "  - id: crm.search_contacts\n"
      "    description: Full-text search over contacts\n"
      "    scopes: [contacts:read]\n",
      "  - id: crm.search_contacts\n"
      "    description: Full-text search over contacts\n");
  auto old_policy = pdp::Compiler::CompileDirectory(old_dir);
  auto new_policy = pdp::Compiler::CompileDirectory(new_dir);
  ASSERT_TRUE(old_policy.ok() && new_policy.ok()) << new_policy.status();
  // The request the old diff missed.
  pdp::Request bob;
  bob.chain.user_id = "bob@acme.example";
  bob.chain.client_id = "claude-desktop";
  bob.chain.scopes = {"calendar:read"};
  bob.tool_id = "crm.search_contacts";
  ASSERT_EQ(pdp::Check(**old_policy, bob)->effect, pdp::v1::EFFECT_DENY);
  ASSERT_EQ(pdp::Check(**new_policy, bob)->effect, pdp::v1::EFFECT_ALLOW);

  absl::StatusOr<pdp::DecisionDiff> diff =
      pdp::DiffPolicies(**old_policy, **new_policy);
  ASSERT_TRUE(diff.ok());
  EXPECT_TRUE(diff->Widens());
  bool bob_named = false;
  for (const pdp::DecisionChange& c : diff->changes) {
    EXPECT_EQ(diff->tool_ids[c.tool], "crm.search_contacts");
    EXPECT_EQ(c.kind, pdp::ChangeKind::kWiden);
    EXPECT_EQ(c.token_scopes, std::vector<std::vector<int>>{{}});
    bool bob = false, desktop = false;
    for (int u : c.users) bob |= diff->user_ids[u] == "bob@acme.example";
    for (int k : c.clients) {
      desktop |= diff->client_ids[k] == "claude-desktop";
    }
    bob_named |= bob && desktop &&
                 c.new_decision == "ALLOW" && c.old_decision == "DENY";
  }
  EXPECT_TRUE(bob_named);
  Result gate = RunPdpctl({"diff", old_dir, new_dir, "--fail-on-widen"});
  EXPECT_EQ(gate.code, kExitFailed) << gate.out << gate.err;
  EXPECT_THAT(gate.out, HasSubstr("token scopes []"));
}

// Issue #11: in a policy with no `users:` (the directory-synced production
// shape), making `executive` inherit `hr` once reported 0 widenings, while
// asserted executives gain hr.update_salary (critical).
TEST(DiffPoliciesTest, RegressionInheritanceWidensWithoutNamedUsers) {
  const std::string old_dir =
      EditedAcme("acme_no_users", "roles.yaml", "", "", {"users.yaml"});
  const std::string new_dir = EditedAcme(
      "acme_no_users_hr", "roles.yaml",
      "  - id: executive\n    inherits: [sales]",
      "  - id: executive\n    inherits: [sales, hr]", {"users.yaml"});
  auto old_policy = pdp::Compiler::CompileDirectory(old_dir);
  auto new_policy = pdp::Compiler::CompileDirectory(new_dir);
  ASSERT_TRUE(old_policy.ok() && new_policy.ok()) << new_policy.status();
  ASSERT_TRUE((*new_policy)->users().empty());
  absl::StatusOr<pdp::DecisionDiff> diff =
      pdp::DiffPolicies(**old_policy, **new_policy);
  ASSERT_TRUE(diff.ok());
  EXPECT_TRUE(diff->Widens());
  bool executive_gains_salary_updates = false;
  for (const pdp::DecisionChange& c : diff->changes) {
    EXPECT_TRUE(c.role_set);
    if (diff->tool_ids[c.tool] != "hr.update_salary" ||
        c.kind != pdp::ChangeKind::kWiden) {
      continue;
    }
    for (const std::vector<int>& alternatives : c.roles) {
      for (int r : alternatives) {
        executive_gains_salary_updates |= diff->role_ids[r] == "executive";
      }
    }
  }
  EXPECT_TRUE(executive_gains_salary_updates);
  Result gate = RunPdpctl({"diff", old_dir, new_dir, "--fail-on-widen"});
  EXPECT_EQ(gate.code, kExitFailed) << gate.out << gate.err;
  EXPECT_THAT(gate.out, HasSubstr("gain hr.update_salary"));
}

}  // namespace
}  // namespace pdpctl
