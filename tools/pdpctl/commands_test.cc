#include "tools/pdpctl/commands.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tools/pdpctl/pdpctl_testing.h"

namespace pdpctl {
namespace {

using ::nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

// The fixture policies (tools/pdpctl/testdata/); tests run from the
// workspace root of the runfiles tree.
constexpr char kPolicy[] = "tools/pdpctl/testdata/policy";
constexpr char kBroken[] = "tools/pdpctl/testdata/broken";
constexpr char kAlice[] = "alice@acme.example";  // executive
constexpr char kBob[] = "bob@acme.example";      // sales

using Result = PdpctlResult;

// Runs a command with --json that must succeed, and parses its output.
json PdpctlJson(std::vector<std::string> argv) {
  argv.push_back("--json");
  Result r = RunPdpctl(argv);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.err, IsEmpty());
  json parsed = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(parsed.is_discarded()) << r.out;
  return parsed;
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

// The policy version `validate` reports for the fixture.
std::string FixtureVersion() {
  Result r = RunPdpctl({"validate", kPolicy});
  size_t at = r.out.find("(version ");
  if (at == std::string::npos) return "";
  at += 9;
  return r.out.substr(at, r.out.find(')', at) - at);
}

// ---------------------------------------------------------------- validate

TEST(ValidateTest, ValidPolicyPrintsOneLineSummary) {
  Result r = RunPdpctl({"validate", kPolicy});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.err, IsEmpty());
  EXPECT_THAT(r.out,
              StartsWith("ok: 8 tools, 2 roles, 2 agents, 2 clients, "
                         "1 service, 2 users, 1 deny rule (version dev-"));
  EXPECT_EQ(Lines(r.out).size(), 1u);
  EXPECT_TRUE(absl::EndsWith(r.out, ")\n"));
}

TEST(ValidateTest, BrokenPolicyPrintsEveryErrorWithFileAndLine) {
  Result r = RunPdpctl({"validate", kBroken});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_THAT(r.out, IsEmpty());
  std::vector<std::string> lines = Lines(r.err);
  ASSERT_EQ(lines.size(), 5u) << r.err;
  EXPECT_THAT(lines[0], StartsWith("tools/pdpctl/testdata/broken/roles.yaml:5: "));
  EXPECT_THAT(lines[0], HasSubstr("unknown role \"salse\""));
  EXPECT_THAT(lines[1], StartsWith("tools/pdpctl/testdata/broken/roles.yaml:6: "));
  EXPECT_THAT(lines[1], HasSubstr("\"billing.*\""));
  EXPECT_THAT(lines[2], StartsWith("tools/pdpctl/testdata/broken/tools.yaml:4: "));
  EXPECT_THAT(lines[2], HasSubstr("unknown key \"colour\""));
  EXPECT_THAT(lines[3], StartsWith("tools/pdpctl/testdata/broken/tools.yaml:5: "));
  EXPECT_THAT(lines[3], HasSubstr("duplicate tool id \"crm.search_contacts\""));
  EXPECT_THAT(lines[4], StartsWith("tools/pdpctl/testdata/broken/tools.yaml:6: "));
  EXPECT_THAT(lines[4], HasSubstr("\"extreme\""));
}

TEST(ValidateTest, MissingDirectoryIsAClearFailure) {
  Result r = RunPdpctl({"validate", "tools/pdpctl/testdata/no-such-dir"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_THAT(r.out, IsEmpty());
  EXPECT_EQ(r.err,
            "pdpctl validate: policy directory "
            "\"tools/pdpctl/testdata/no-such-dir\" does not exist\n");
}

TEST(ValidateTest, FileInsteadOfDirectoryFails) {
  Result r = RunPdpctl({"validate", "tools/pdpctl/testdata/policy/tools.yaml"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_THAT(r.err, HasSubstr("is not a directory"));
}

TEST(ValidateTest, EmptyDirectoryIsValidButWarns) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  ASSERT_NE(tmp, nullptr);
  Result r = RunPdpctl({"validate", tmp});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_THAT(r.out, StartsWith("ok: 0 tools, 0 roles"));
  EXPECT_THAT(r.err, HasSubstr("warning: the policy in"));
}

TEST(ValidateTest, WarningsGoToStderrAndTheSummaryCountsThem) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  ASSERT_NE(tmp, nullptr);
  const std::string dir = std::string(tmp) + "/warned";
  ASSERT_EQ(std::system(("mkdir -p " + dir).c_str()), 0);
  std::FILE* f = std::fopen((dir + "/p.yaml").c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("tools:\n  - id: crm.search\nroles:\n  - id: idle\n", f);
  std::fclose(f);
  Result r = RunPdpctl({"validate", dir});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_THAT(r.out, ::testing::StartsWith("ok: 1 tool, 1 role"));
  EXPECT_THAT(r.out, ::testing::EndsWith("), 1 warning\n"));
  EXPECT_EQ(r.err, dir + "/p.yaml:4: warning: role \"idle\" grants no tool and "
                         "no data class, and no deny rule names it\n");
}

TEST(ValidateTest, UsageErrors) {
  Result none = RunPdpctl({"validate"});
  EXPECT_EQ(none.code, kExitUsage);
  EXPECT_THAT(none.err, HasSubstr("missing the policy directory"));

  Result two = RunPdpctl({"validate", kPolicy, kBroken});
  EXPECT_EQ(two.code, kExitUsage);
  EXPECT_THAT(two.err,
              HasSubstr(std::string("unexpected argument '") + kBroken + "'"));

  Result flag = RunPdpctl({"validate", "--strict", kPolicy});
  EXPECT_EQ(flag.code, kExitUsage);
  EXPECT_THAT(flag.err, HasSubstr("unknown flag --strict"));
}

// ------------------------------------------------------------ check --json

TEST(CheckJsonTest, AllowCarriesRedactAndVersion) {
  // The seed case: an executive's Sales Assistant never receives salary.
  json j =
      PdpctlJson({"check", "--policy", kPolicy, "--user", kAlice, "--client",
                  "claude-desktop", "--agent", "sales-assistant", "--scopes",
                  "contacts:read", "--tool", "crm.get_account"});
  EXPECT_EQ(j["effect"], "ALLOW");
  EXPECT_EQ(j["reasons"], json::array());
  EXPECT_EQ(j["redact"], json::array({"salary"}));
  EXPECT_FALSE(j.contains("step_up"));
  EXPECT_EQ(j["policy_version"], FixtureVersion());
  EXPECT_THAT(j["policy_version"].get<std::string>(), StartsWith("dev-"));
}

TEST(CheckJsonTest, WithoutAgentNothingIsRedacted) {
  json j = PdpctlJson({"check", "--policy", kPolicy, "--user", kAlice,
                       "--client", "claude-desktop", "--scopes",
                       "contacts:read", "--tool", "crm.get_account"});
  EXPECT_EQ(j["effect"], "ALLOW");
  EXPECT_EQ(j["redact"], json::array());
}

TEST(CheckJsonTest, DenyListsEveryFailingLink) {
  json j =
      PdpctlJson({"check", "--policy", kPolicy, "--user", kBob, "--client",
                  "claude-desktop", "--agent", "sales-assistant", "--scopes",
                  "contacts:read", "--tool", "crm.export_contacts"});
  EXPECT_EQ(j["effect"], "DENY");
  EXPECT_FALSE(j.contains("step_up"));
  const json& reasons = j["reasons"];
  ASSERT_EQ(reasons.size(), 3u) << j.dump(2);
  EXPECT_EQ(reasons[0]["link"], "user");
  EXPECT_EQ(reasons[0]["code"], "USER_NOT_PERMITTED");
  EXPECT_FALSE(reasons[0].contains("missing_scopes"));
  EXPECT_FALSE(reasons[0].contains("rule"));
  EXPECT_EQ(reasons[1]["link"], "client");
  EXPECT_EQ(reasons[1]["code"], "MISSING_SCOPE");
  EXPECT_EQ(reasons[1]["missing_scopes"], json::array({"contacts:export"}));
  EXPECT_EQ(reasons[2]["link"], "rule");
  EXPECT_EQ(reasons[2]["code"], "RULE");
  EXPECT_EQ(reasons[2]["rule"], "no-export-from-desktop");
  for (const json& reason : reasons) {
    EXPECT_FALSE(reason["message"].get<std::string>().empty());
  }
}

TEST(CheckJsonTest, MissingScopesNameOnlyWhatTheTokenLacks) {
  // hr:read is in the client's ceiling but not granted to this token.
  json j = PdpctlJson({"check", "--policy", kPolicy, "--user", kAlice,
                       "--client", "internal-app", "--scopes", "contacts:read",
                       "--amr", "otp", "--tool", "hr.get_salary"});
  EXPECT_EQ(j["effect"], "DENY");
  ASSERT_EQ(j["reasons"].size(), 1u);
  EXPECT_EQ(j["reasons"][0]["code"], "MISSING_SCOPE");
  EXPECT_EQ(j["reasons"][0]["missing_scopes"], json::array({"hr:read"}));
}

TEST(CheckJsonTest, StepUpNamesTheStrengthRequired) {
  std::vector<std::string> argv = {"check",        "--policy",     kPolicy,
                                   "--user",       kAlice,         "--client",
                                   "internal-app", "--scopes",     "hr:read",
                                   "--tool",       "hr.get_salary"};
  json j = PdpctlJson(argv);
  EXPECT_EQ(j["effect"], "STEP_UP");
  EXPECT_EQ(j["step_up"], "mfa");
  ASSERT_EQ(j["reasons"].size(), 1u);
  EXPECT_EQ(j["reasons"][0]["link"], "user");
  EXPECT_EQ(j["reasons"][0]["code"], "STEP_UP_REQUIRED");

  // A session with a one-time password is strong enough.
  argv.insert(argv.end(), {"--amr", "pwd,otp"});
  json stepped = PdpctlJson(argv);
  EXPECT_EQ(stepped["effect"], "ALLOW");
  EXPECT_FALSE(stepped.contains("step_up"));
}

TEST(CheckJsonTest, PhishingResistantStepUpFromAmr) {
  std::vector<std::string> argv = {"check",
                                   "--policy",
                                   kPolicy,
                                   "--user",
                                   kAlice,
                                   "--client",
                                   "internal-app",
                                   "--scopes",
                                   "finance:write",
                                   "--tool",
                                   "finance.pay_invoice",
                                   "--amr",
                                   "otp"};
  EXPECT_EQ(PdpctlJson(argv)["step_up"], "phishing_resistant");
  argv.back() = "hwk";
  EXPECT_EQ(PdpctlJson(argv)["effect"], "ALLOW");
}

TEST(CheckJsonTest, RequireApprovalForToolAutonomy) {
  json j = PdpctlJson({"check", "--policy", kPolicy, "--user", kAlice,
                       "--client", "claude-desktop", "--agent",
                       "sales-assistant", "--scopes", "emails:send",
                       "--autonomous", "--tool", "email.send_message"});
  EXPECT_EQ(j["effect"], "REQUIRE_APPROVAL");
  ASSERT_EQ(j["reasons"].size(), 1u);
  EXPECT_EQ(j["reasons"][0]["link"], "tool");
  EXPECT_EQ(j["reasons"][0]["code"], "APPROVAL_REQUIRED");
  EXPECT_FALSE(j.contains("step_up"));
}

TEST(CheckJsonTest, RequireApprovalForNonAutonomousAgent) {
  json j = PdpctlJson({"check", "--policy", kPolicy, "--user", kAlice,
                       "--client", "internal-app", "--agent",
                       "payroll-assistant", "--scopes", "hr:read", "--amr",
                       "otp", "--autonomous", "--tool", "hr.get_salary"});
  EXPECT_EQ(j["effect"], "REQUIRE_APPROVAL");
  ASSERT_EQ(j["reasons"].size(), 1u);
  EXPECT_EQ(j["reasons"][0]["link"], "agent");
  EXPECT_EQ(j["reasons"][0]["code"], "APPROVAL_REQUIRED");
}

TEST(CheckJsonTest, ActionSeeIgnoresStepUp) {
  json j = PdpctlJson({"check", "--policy", kPolicy, "--user", kAlice,
                       "--client", "internal-app", "--scopes", "hr:read",
                       "--tool", "hr.get_salary", "--action", "see"});
  EXPECT_EQ(j["effect"], "ALLOW");
}

TEST(CheckJsonTest, AssertedRolesMakeAnUnknownUserKnown) {
  std::vector<std::string> argv = {
      "check",          "--policy",           kPolicy,
      "--user",         "carol@acme.example", "--client",
      "claude-desktop", "--scopes",           "contacts:read",
      "--tool",         "crm.search_contacts"};
  json unknown = PdpctlJson(argv);
  EXPECT_EQ(unknown["effect"], "DENY");
  EXPECT_EQ(unknown["reasons"][0]["code"], "USER_UNKNOWN");

  argv.insert(argv.end(), {"--roles", "sales"});
  EXPECT_EQ(PdpctlJson(argv)["effect"], "ALLOW");
}

TEST(CheckJsonTest, ServiceChain) {
  json allowed = PdpctlJson({"check", "--policy", kPolicy, "--service",
                             "import-worker", "--tool", "crm.search_contacts"});
  EXPECT_EQ(allowed["effect"], "ALLOW");
  EXPECT_EQ(allowed["redact"], json::array());

  // Services are always autonomous: the tool's approval applies.
  json approval =
      PdpctlJson({"check", "--policy", kPolicy, "--service", "import-worker",
                  "--tool", "crm.import_contacts"});
  EXPECT_EQ(approval["effect"], "REQUIRE_APPROVAL");
  EXPECT_EQ(approval["reasons"][0]["link"], "tool");

  json denied = PdpctlJson({"check", "--policy", kPolicy, "--service",
                            "import-worker", "--tool", "crm.export_contacts"});
  EXPECT_EQ(denied["effect"], "DENY");
  ASSERT_EQ(denied["reasons"].size(), 2u) << denied.dump(2);
  EXPECT_EQ(denied["reasons"][0]["link"], "service");
  EXPECT_EQ(denied["reasons"][0]["code"], "SERVICE_NOT_PERMITTED");
  EXPECT_EQ(denied["reasons"][1]["link"], "service");
  EXPECT_EQ(denied["reasons"][1]["code"], "MISSING_SCOPE");
  EXPECT_EQ(denied["reasons"][1]["missing_scopes"],
            json::array({"contacts:export"}));

  json unknown = PdpctlJson({"check", "--policy", kPolicy, "--service",
                             "nightly-job", "--tool", "crm.search_contacts"});
  EXPECT_EQ(unknown["effect"], "DENY");
  EXPECT_EQ(unknown["reasons"][0]["code"], "SERVICE_UNKNOWN");
}

TEST(CheckJsonTest, EqualsFormAndUnknownTool) {
  json j = PdpctlJson({"check", "--policy=tools/pdpctl/testdata/policy",
                       "--user=bob@acme.example", "--client=claude-desktop",
                       "--tool=crm.delete_everything"});
  EXPECT_EQ(j["effect"], "DENY");
  EXPECT_EQ(j["reasons"][0]["link"], "tool");
  EXPECT_EQ(j["reasons"][0]["code"], "TOOL_UNKNOWN");
}

// -------------------------------------------------------------- check text

TEST(CheckTextTest, DenyNamesTheDecidingLinks) {
  Result r =
      RunPdpctl({"check", "--policy", kPolicy, "--user", kAlice, "--client",
                 "claude-desktop", "--agent", "sales-assistant", "--scopes",
                 "hr:read", "--tool", "hr.get_salary"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_EQ(lines[0],
            "DENY hr.get_salary for user alice@acme.example via client "
            "claude-desktop with agent sales-assistant");
  EXPECT_THAT(lines[1],
              StartsWith("  agent sales-assistant: AGENT_NOT_PERMITTED — "));
  EXPECT_THAT(lines[2],
              StartsWith("  client claude-desktop: CLIENT_TRUST_TOO_LOW — "));
  EXPECT_EQ(lines[3], "policy version " + FixtureVersion());
}

TEST(CheckTextTest, RuleLinkNamesTheRule) {
  Result r = RunPdpctl({"check", "--policy", kPolicy, "--user", kAlice,
                        "--client", "claude-desktop", "--scopes",
                        "contacts:export", "--tool", "crm.export_contacts"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_THAT(r.out,
              HasSubstr("\n  rule no-export-from-desktop: RULE — deny rule "));
}

TEST(CheckTextTest, AllowMentionsRedactions) {
  Result r =
      RunPdpctl({"check", "--policy", kPolicy, "--user", kAlice, "--client",
                 "claude-desktop", "--agent", "sales-assistant", "--scopes",
                 "contacts:read", "--tool", "crm.get_account"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_THAT(r.out, StartsWith("ALLOW crm.get_account for user "));
  EXPECT_THAT(r.out, HasSubstr("every link permits it; redact salary"));

  Result plain = RunPdpctl({"check", "--policy", kPolicy, "--user", kBob,
                            "--client", "claude-desktop", "--scopes",
                            "contacts:read", "--tool", "crm.search_contacts"});
  EXPECT_THAT(plain.out, HasSubstr("every link permits it; nothing to redact"));
}

TEST(CheckTextTest, StepUpAndServiceChains) {
  Result step = RunPdpctl({"check", "--policy", kPolicy, "--user", kAlice,
                           "--client", "internal-app", "--scopes", "hr:read",
                           "--tool", "hr.get_salary"});
  EXPECT_THAT(step.out, StartsWith("STEP_UP hr.get_salary for user "));
  EXPECT_THAT(step.out,
              HasSubstr("  user alice@acme.example: STEP_UP_REQUIRED — "));

  Result service =
      RunPdpctl({"check", "--policy", kPolicy, "--service", "import-worker",
                 "--tool", "crm.import_contacts"});
  EXPECT_THAT(service.out, StartsWith("REQUIRE_APPROVAL crm.import_contacts "
                                      "for service import-worker\n"));
  EXPECT_THAT(service.out,
              HasSubstr("  tool crm.import_contacts: APPROVAL_REQUIRED — "));
}

// ------------------------------------------------------------ check errors

TEST(CheckUsageTest, ProblemsExitTwoNamingTheProblem) {
  struct Case {
    std::vector<std::string> extra;
    std::string message;
  };
  const std::vector<std::string> base = {
      "check", "--policy", kPolicy,         "--user",
      kBob,    "--client", "claude-desktop"};
  const Case cases[] = {
      {{"--tool", "crm.x", "--verbose"}, "unknown flag --verbose"},
      {{"--tool"}, "flag --tool needs a value"},
      {{"--tool", "crm.x", "--agent"}, "flag --agent needs a value"},
      {{}, "missing --tool ID"},
      {{"--tool", "crm.x", "--action", "run"},
       "--action must be call or see, not 'run'"},
      {{"--tool", "crm.x", "--json=yes"}, "flag --json takes no value"},
      {{"--tool", "crm.x", "extra"}, "unexpected argument 'extra'"},
      {{"--tool", "a", "--tool", "b"}, "flag --tool is given more than once"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = base;
    argv.insert(argv.end(), c.extra.begin(), c.extra.end());
    Result r = RunPdpctl(argv);
    EXPECT_EQ(r.code, kExitUsage) << c.message;
    EXPECT_THAT(r.out, IsEmpty());
    EXPECT_THAT(r.err, HasSubstr("pdpctl check: " + c.message));
    EXPECT_THAT(r.err, HasSubstr("run 'pdpctl check --help' for usage"));
  }
  Result no_policy =
      RunPdpctl({"check", "--user", kBob, "--client", "c", "--tool", "crm.x"});
  EXPECT_EQ(no_policy.code, kExitUsage);
  EXPECT_THAT(no_policy.err, HasSubstr("missing --policy DIR"));
}

TEST(CheckUsageTest, MalformedChainPrintsTheEnginesMessage) {
  Result no_client = RunPdpctl({"check", "--policy", kPolicy, "--user", kBob,
                                "--tool", "crm.search_contacts"});
  EXPECT_EQ(no_client.code, kExitUsage);
  EXPECT_THAT(no_client.out, IsEmpty());
  EXPECT_THAT(no_client.err,
              HasSubstr("pdpctl check: malformed identity chain: "
                        "chain.client_id is empty"));

  Result both = RunPdpctl({"check", "--policy", kPolicy, "--user", kBob,
                           "--client", "claude-desktop", "--service",
                           "import-worker", "--tool", "crm.search_contacts"});
  EXPECT_EQ(both.code, kExitUsage);
  EXPECT_THAT(both.err, HasSubstr("malformed identity chain"));
  EXPECT_THAT(both.err, HasSubstr("chain.user_id"));

  Result nothing = RunPdpctl(
      {"check", "--policy", kPolicy, "--tool", "crm.search_contacts"});
  EXPECT_EQ(nothing.code, kExitUsage);
  EXPECT_THAT(nothing.err, HasSubstr("malformed identity chain"));

  Result roles =
      RunPdpctl({"check", "--policy", kPolicy, "--service", "import-worker",
                 "--roles", "sales", "--tool", "crm.search_contacts"});
  EXPECT_EQ(roles.code, kExitUsage);
  EXPECT_THAT(roles.err, HasSubstr("asserted_roles"));
}

TEST(CheckUsageTest, PolicyErrorsArePrintedLikeValidateAndExitTwo) {
  Result r =
      RunPdpctl({"check", "--policy", kBroken, "--user", kBob, "--client",
                 "claude-desktop", "--tool", "crm.search_contacts"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.out, IsEmpty());
  const std::string errors = RunPdpctl({"validate", kBroken}).err;
  ASSERT_FALSE(errors.empty());
  EXPECT_THAT(r.err, StartsWith(errors));
  EXPECT_THAT(r.err, HasSubstr("does not compile; no decision was made"));

  Result missing = RunPdpctl({"check", "--policy", "no/such/dir", "--user",
                              kBob, "--client", "c", "--tool", "crm.x"});
  EXPECT_EQ(missing.code, kExitUsage);
  EXPECT_THAT(missing.err, HasSubstr("\"no/such/dir\" does not exist"));
}

// ------------------------------------------------------------------ filter

TEST(FilterJsonTest, ByServerWithRedact) {
  json j =
      PdpctlJson({"filter", "--policy", kPolicy, "--user", kAlice, "--client",
                  "claude-desktop", "--agent", "sales-assistant", "--scopes",
                  "contacts:read", "--server", "crm"});
  EXPECT_EQ(j["policy_version"], FixtureVersion());
  const json& tools = j["tools"];
  ASSERT_EQ(tools.size(), 2u) << j.dump(2);
  EXPECT_EQ(tools[0]["id"], "crm.get_account");
  EXPECT_EQ(tools[0]["requires_approval"], false);
  EXPECT_TRUE(tools[0]["step_up"].is_null());
  EXPECT_EQ(tools[0]["redact"], json::array({"salary"}));
  EXPECT_EQ(tools[1]["id"], "crm.search_contacts");
  EXPECT_EQ(tools[1]["redact"], json::array());
}

TEST(FilterJsonTest, ByToolListWithAnnotations) {
  json j = PdpctlJson({"filter", "--policy", kPolicy, "--user", kAlice,
                       "--client", "internal-app", "--scopes",
                       "hr:read,emails:send,finance:write", "--autonomous",
                       "--tools",
                       "hr.get_salary,email.send_message,finance.pay_invoice,"
                       "crm.export_contacts,nope.tool"});
  // finance.pay_invoice is autonomy: forbidden, hidden from an autonomous
  // chain; crm.export_contacts needs a scope the token lacks; nope.tool is
  // not in the policy.
  const json& tools = j["tools"];
  ASSERT_EQ(tools.size(), 2u) << j.dump(2);
  EXPECT_EQ(tools[0]["id"], "email.send_message");
  EXPECT_EQ(tools[0]["requires_approval"], true);
  EXPECT_TRUE(tools[0]["step_up"].is_null());
  EXPECT_EQ(tools[1]["id"], "hr.get_salary");
  EXPECT_EQ(tools[1]["requires_approval"], false);
  EXPECT_EQ(tools[1]["step_up"], "mfa");
  EXPECT_EQ(tools[1]["redact"], json::array());
}

TEST(FilterJsonTest, ServiceChainAndUnknownLinks) {
  json service = PdpctlJson({"filter", "--policy", kPolicy, "--service",
                             "import-worker", "--server", "crm"});
  ASSERT_EQ(service["tools"].size(), 2u);
  EXPECT_EQ(service["tools"][0]["id"], "crm.import_contacts");
  EXPECT_EQ(service["tools"][0]["requires_approval"], true);
  EXPECT_EQ(service["tools"][1]["id"], "crm.search_contacts");

  json unknown = PdpctlJson({"filter", "--policy", kPolicy, "--user", kAlice,
                             "--client", "rogue-app", "--server", "crm"});
  EXPECT_EQ(unknown["tools"], json::array());
}

TEST(FilterJsonTest, WithoutSelectionEveryToolIsConsidered) {
  json j = PdpctlJson({"filter", "--policy", kPolicy, "--user", kBob,
                       "--client", "claude-desktop", "--scopes",
                       "contacts:read,calendar:create,emails:send"});
  std::vector<std::string> ids;
  for (const json& tool : j["tools"])
    ids.push_back(tool["id"].get<std::string>());
  EXPECT_THAT(ids, ElementsAre("calendar.create_event", "crm.get_account",
                               "crm.search_contacts", "email.send_message"));
}

TEST(FilterTextTest, ListsToolsWithWhatACallNeeds) {
  Result r = RunPdpctl({"filter", "--policy", kPolicy, "--user", kAlice,
                        "--client", "internal-app", "--scopes",
                        "hr:read,emails:send", "--autonomous", "--tools",
                        "hr.get_salary,email.send_message,nope.tool"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 5u) << r.out;
  EXPECT_EQ(lines[0],
            "2 of 2 listed tools visible to user alice@acme.example via "
            "client internal-app, no human in the loop");
  EXPECT_EQ(lines[1], "  email.send_message  requires approval");
  EXPECT_EQ(lines[2], "  hr.get_salary       step-up to mfa");
  EXPECT_EQ(lines[3], "  not in the policy: nope.tool");
  EXPECT_EQ(lines[4], "policy version " + FixtureVersion());
}

TEST(FilterTextTest, ExplainsWhyNothingIsVisible) {
  Result r = RunPdpctl({"filter", "--policy", kPolicy, "--user", "mallory",
                        "--client", "rogue-app", "--server", "crm"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_THAT(r.out, StartsWith("0 of 4 tools on server crm visible to "));
  EXPECT_THAT(r.out, HasSubstr("nothing is visible: client rogue-app is not "
                               "registered"));
  EXPECT_THAT(r.out,
              HasSubstr("nothing is visible: user mallory is not known"));
}

TEST(FilterUsageTest, ProblemsExitTwo) {
  Result both = RunPdpctl({"filter", "--policy", kPolicy, "--user", kBob,
                           "--client", "claude-desktop", "--server", "crm",
                           "--tools", "crm.search_contacts"});
  EXPECT_EQ(both.code, kExitUsage);
  EXPECT_THAT(both.err,
              HasSubstr("pdpctl filter: give --server or --tools, not both"));

  Result empty = RunPdpctl({"filter", "--policy", kPolicy, "--user", kBob,
                            "--client", "claude-desktop", "--tools="});
  EXPECT_EQ(empty.code, kExitUsage);
  EXPECT_THAT(empty.err, HasSubstr("--tools needs at least one tool id"));

  Result tool = RunPdpctl({"filter", "--policy", kPolicy, "--user", kBob,
                           "--client", "claude-desktop", "--tool", "crm.x"});
  EXPECT_EQ(tool.code, kExitUsage);
  EXPECT_THAT(tool.err, HasSubstr("unknown flag --tool"));

  Result chain = RunPdpctl({"filter", "--policy", kPolicy, "--client",
                            "claude-desktop", "--server", "crm"});
  EXPECT_EQ(chain.code, kExitUsage);
  EXPECT_THAT(chain.err, HasSubstr("malformed identity chain"));

  Result broken = RunPdpctl({"filter", "--policy", kBroken, "--service",
                             "import-worker", "--server", "crm"});
  EXPECT_EQ(broken.code, kExitUsage);
  EXPECT_THAT(broken.err, HasSubstr("tools/pdpctl/testdata/broken/tools.yaml:4: "));
}

// ---------------------------------------------------------- client-request

constexpr char kAcme[] = "examples/policies/acme";
constexpr char kChallenge[] = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

// claude-desktop from its loopback callback with S256, plus `extra`.
Result ClientRequest(std::vector<std::string> extra) {
  std::vector<std::string> argv = {
      "client-request", "--policy", kAcme, "--client", "claude-desktop",
      "--redirect-uri", "http://127.0.0.1:33418/callback", "--code-challenge",
      kChallenge, "--code-challenge-method", "S256"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return RunPdpctl(argv);
}

TEST(ClientRequestTest, AllowedPrintsTheGrantedScopes) {
  // Scopes like check's: a comma list, repeatable.
  Result r = ClientRequest(
      {"--scopes", "deals:read,contacts:read", "--scopes", "deals:read"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.err, IsEmpty());
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0], "ALLOWED client claude-desktop");
  EXPECT_EQ(lines[1], "  granted scopes: contacts:read deals:read");
  EXPECT_THAT(lines[2], StartsWith("policy version dev-"));
}

TEST(ClientRequestTest, NoScopesGrantsTheCeiling) {
  Result r = RunPdpctl(
      {"client-request", "--policy", kAcme, "--client", "partner-integration",
       "--redirect-uri", "https://app.partner.example/oauth/callback",
       "--code-challenge", kChallenge, "--code-challenge-method", "S256"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("  granted scopes: calendar:create "
                               "calendar:read contacts:read\n"));
}

TEST(ClientRequestTest, RefusedPrintsEveryReasonAndTheOAuthError) {
  Result r = RunPdpctl({"client-request", "--policy", kAcme, "--client",
                        "claude-desktop", "--redirect-uri",
                        "http://127.0.0.1:33418/callback/../evil", "--scopes",
                        "contacts:read,emails:send", "--code-challenge",
                        kChallenge, "--code-challenge-method", "plain"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_THAT(r.err, IsEmpty());
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 5u) << r.out;
  EXPECT_EQ(lines[0],
            "REFUSED client claude-desktop: OAuth error invalid_request");
  EXPECT_THAT(lines[1], StartsWith("  REDIRECT_URI_MISMATCH — "));
  EXPECT_THAT(lines[1], HasSubstr("/callback/../evil"));
  EXPECT_THAT(lines[2], StartsWith("  PKCE_REQUIRED — "));
  EXPECT_THAT(lines[2], HasSubstr("\"plain\""));
  EXPECT_THAT(lines[3], StartsWith("  SCOPE_NOT_ALLOWED — "));
  EXPECT_THAT(lines[3], HasSubstr("\"emails:send\""));
  EXPECT_THAT(lines[4], StartsWith("policy version dev-"));
}

TEST(ClientRequestTest, EachRefusalAlone) {
  Result r = ClientRequest({"--scopes", "hr:write"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_THAT(r.out, StartsWith("REFUSED client claude-desktop: OAuth error "
                                "invalid_scope\n  SCOPE_NOT_ALLOWED — "));

  r = RunPdpctl({"client-request", "--policy", kAcme, "--client",
                 "claude-desktop", "--redirect-uri",
                 "http://127.0.0.1:33418/callback"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_THAT(r.out, StartsWith("REFUSED client claude-desktop: OAuth error "
                                "invalid_request\n  PKCE_REQUIRED — "));

  r = RunPdpctl({"client-request", "--policy", kAcme, "--client", "evil-app",
                 "--redirect-uri", "https://evil.example/cb"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_THAT(r.out, StartsWith("REFUSED client evil-app: OAuth error "
                                "unauthorized_client\n"
                                "  CLIENT_NOT_REGISTERED — "));
  EXPECT_EQ(Lines(r.out).size(), 3u) << r.out;
}

TEST(ClientRequestTest, UsageErrors) {
  Result r = RunPdpctl({"client-request", "--client", "claude-desktop"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("missing --policy DIR"));
  r = RunPdpctl({"client-request", "--policy", kAcme});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("missing --client ID"));
  r = RunPdpctl(
      {"client-request", "--policy", kAcme, "--client", "x", "extra"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("unexpected argument 'extra'"));
  r = RunPdpctl({"client-request", "--policy", kBroken, "--client", "x"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("does not compile; no decision was made"));
  EXPECT_THAT(r.out, IsEmpty());
}

// -------------------------------------------------------------------- help

TEST(HelpTest, MainUsageListsCommands) {
  for (const char* flag : {"help", "--help", "-h"}) {
    Result r = RunPdpctl({flag});
    EXPECT_EQ(r.code, kExitOk);
    EXPECT_THAT(r.out, HasSubstr("usage: pdpctl <command> [flags]"));
    for (const Command& command : Commands()) {
      EXPECT_THAT(r.out, HasSubstr("  " + command.name + " "));
    }
  }
  Result none = RunPdpctl({});
  EXPECT_EQ(none.code, kExitUsage);
  EXPECT_THAT(none.out, IsEmpty());
  EXPECT_THAT(none.err, HasSubstr("usage: pdpctl <command> [flags]"));
}

TEST(HelpTest, CommandUsageFromEveryEntryPoint) {
  for (const Command& command : Commands()) {
    const std::string expected = CommandUsage(command);
    EXPECT_THAT(expected, StartsWith("usage: pdpctl " + command.name));
    for (const FlagSpec& flag : command.flags) {
      EXPECT_THAT(expected, HasSubstr("--" + flag.name));
    }
    EXPECT_EQ(RunPdpctl({"help", command.name}).out, expected);
    Result r = RunPdpctl({command.name, "--bogus", "--help"});
    EXPECT_EQ(r.code, kExitOk);
    EXPECT_EQ(r.out, expected);
    EXPECT_EQ(RunPdpctl({command.name, "-h"}).out, expected);
  }
}

TEST(HelpTest, UnknownCommandsAndLeadingFlags) {
  Result command = RunPdpctl({"frobnicate"});
  EXPECT_EQ(command.code, kExitUsage);
  EXPECT_THAT(command.err, HasSubstr("unknown command 'frobnicate'"));

  Result help = RunPdpctl({"help", "frobnicate"});
  EXPECT_EQ(help.code, kExitUsage);
  EXPECT_THAT(help.err, HasSubstr("unknown command 'frobnicate'"));

  Result flag = RunPdpctl({"--policy", kPolicy, "validate"});
  EXPECT_EQ(flag.code, kExitUsage);
  EXPECT_THAT(flag.err, HasSubstr("unknown flag '--policy'"));
}

}  // namespace
}  // namespace pdpctl
