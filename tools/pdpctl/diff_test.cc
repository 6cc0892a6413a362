#include "tools/pdpctl/diff.h"

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

TEST(DiffCommandTest, PrintsGroupedChangesAndSummary) {
  Result r = RunPdpctl({"diff", kOld, kNew});
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
  Result r = RunPdpctl({"diff", kNew, kOld});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out,
              HasSubstr("  user alice@acme.example with agent "
                        "payroll-assistant gains hr.get_salary via "
                        "client internal-app (STEP_UP mfa, was DENY)\n"));
  EXPECT_THAT(r.out, HasSubstr("2 decisions widen, 8 narrow, 0 change "
                               "otherwise\n"));
}

TEST(DiffCommandTest, FailOnWidenExitsOneWhenSomethingWidens) {
  Result r = RunPdpctl({"diff", kOld, kNew, "--fail-on-widen"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_THAT(r.out, HasSubstr("8 decisions widen"));
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
  EXPECT_THAT(r.out, HasSubstr("0 decisions widen, 2 narrow, 0 change "
                               "otherwise\n"));
}

TEST(DiffCommandTest, IdenticalPoliciesHaveNoChanges) {
  Result r = RunPdpctl({"diff", kOld, kOld, "--fail-on-widen"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, "0 decisions widen, 0 narrow, 0 change otherwise\n");
}

TEST(DiffCommandTest, JsonListsTheChanges) {
  Result r = RunPdpctl({"diff", kOld, kNew, "--json"});
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
  EXPECT_EQ(RunPdpctl({"diff", kOld, "tools/pdpctl/testdata/no-such-dir"}).code,
            kExitUsage);
}

TEST(DiffPoliciesTest, RedactionChangesAreClassified) {
  // Taking pii from the sales-assistant agent makes its calls redact more.
  const std::string agent =
      "    tools: [\"crm.*\", \"calendar.*\", \"email.*\"]\n";
  const std::string dir =
      EditedPolicy("more_redaction", agent + "    data: [pii]\n", agent);

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

// A client that stops being interactive makes its chains autonomous (a
// narrowing); the reverse lifts approvals and autonomy bans (a widening
// that --fail-on-widen must catch).
TEST(DiffPoliciesTest, AClientsInteractivityIsAChange) {
  const std::string client = "  - id: internal-app\n    trust: internal\n";
  const std::string dir = EditedPolicy("non_interactive", client,
                                       client + "    interactive: false\n");

  auto old_policy = pdp::Compiler::CompileDirectory(kOld);
  auto new_policy = pdp::Compiler::CompileDirectory(dir);
  ASSERT_TRUE(old_policy.ok() && new_policy.ok()) << new_policy.status();
  DiffResult narrowing = DiffPolicies(**old_policy, **new_policy);
  EXPECT_EQ(narrowing.widen, 0);
  EXPECT_GT(narrowing.narrow, 0);
  DiffResult widening = DiffPolicies(**new_policy, **old_policy);
  EXPECT_GT(widening.widen, 0);
  bool named = false;
  for (const ChangeGroup& g : widening.groups) {
    named |= g.line.find("client internal-app is now registered "
                         "interactive: true") != std::string::npos;
  }
  EXPECT_TRUE(named);
  Result gate = RunPdpctl({"diff", dir, kOld, "--fail-on-widen"});
  EXPECT_EQ(gate.code, 1) << gate.out;
}

}  // namespace
}  // namespace pdpctl
