#include "tools/pdpctl/explain.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/pdpctl/commands.h"
#include "tools/pdpctl/pdpctl_testing.h"

namespace pdpctl {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kPolicy[] = "tools/pdpctl/testdata/policy";

using Result = PdpctlResult;

Result Check(std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"check", "--policy", kPolicy, "--explain"});
  return RunPdpctl(argv);
}

// The explanation follows the normal output.
std::string Explanation(const std::string& out) {
  size_t at = out.find("explain:\n");
  return at == std::string::npos ? "" : out.substr(at);
}

TEST(ExplainTest, NamesTheInheritedRoleAndGlobWithFileLine) {
  Result r = Check({"--user", "alice@acme.example", "--client", "internal-app",
                    "--scopes", "contacts:read", "--tool",
                    "crm.search_contacts"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, StartsWith("ALLOW crm.search_contacts"));
  const std::string e = Explanation(r.out);
  EXPECT_THAT(e, HasSubstr(
      "  user alice@acme.example "
      "(tools/pdpctl/testdata/policy/identities.yaml:34): roles executive\n"
      "    granted by role sales "
      "(tools/pdpctl/testdata/policy/identities.yaml:2) inherited via "
      "executive -> sales: glob \"crm.search_contacts\" "
      "(tools/pdpctl/testdata/policy/identities.yaml:3)\n"));
  EXPECT_THAT(e, HasSubstr("  agent: none\n"));
  EXPECT_THAT(e, HasSubstr("    tool scopes in the token: contacts:read; "
                           "not: none\n"));
  EXPECT_THAT(e, HasSubstr("  deny rules matched: none\n"));
}

TEST(ExplainTest, ShowsAgentGlobClientTrustAndAuth) {
  Result r = Check({"--user", "alice@acme.example", "--client", "internal-app",
                    "--agent", "payroll-assistant", "--scopes", "hr:read",
                    "--tool", "hr.get_salary"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const std::string e = Explanation(r.out);
  EXPECT_THAT(e, HasSubstr(
      "  tool hr.get_salary (tools/pdpctl/testdata/policy/tools.yaml:39): "
      "scopes hr:read; data salary; risk medium; autonomy allowed; auth mfa; "
      "min_client_trust trusted\n"));
  EXPECT_THAT(e, HasSubstr(
      "    granted by role executive "
      "(tools/pdpctl/testdata/policy/identities.yaml:5): glob \"hr.*\" "
      "(tools/pdpctl/testdata/policy/identities.yaml:7)\n"));
  EXPECT_THAT(e, HasSubstr(
      "  agent payroll-assistant "
      "(tools/pdpctl/testdata/policy/identities.yaml:15): glob \"hr.*\" "
      "(tools/pdpctl/testdata/policy/identities.yaml:16); autonomous no\n"));
  EXPECT_THAT(e, HasSubstr("trust internal, tool needs at least trusted "
                           "(ok)\n"));
  EXPECT_THAT(e, HasSubstr("  auth: the session has password; the tool "
                           "requires mfa\n"));
}

TEST(ExplainTest, ShowsWhatIsMissingAndTheMatchingRule) {
  Result r = Check({"--user", "bob@acme.example", "--client", "claude-desktop",
                    "--agent", "sales-assistant", "--tool",
                    "crm.export_contacts", "--autonomous"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, StartsWith("DENY"));
  const std::string e = Explanation(r.out);
  EXPECT_THAT(e, HasSubstr("    no role of the user grants "
                           "crm.export_contacts\n"));
  EXPECT_THAT(e, HasSubstr("    tool scopes in the client's ceiling: none; "
                           "not: contacts:export\n"));
  EXPECT_THAT(e, HasSubstr(
      "  deny rules matched: no-export-from-desktop "
      "(tools/pdpctl/testdata/policy/deny.yaml:2)\n"));
  EXPECT_THAT(e, HasSubstr("  autonomy: the chain is autonomous"));
}

TEST(ExplainTest, ExplainsServiceChains) {
  Result r = Check({"--service", "import-worker", "--tool",
                    "crm.import_contacts"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const std::string e = Explanation(r.out);
  EXPECT_THAT(e, HasSubstr(
      "  service import-worker "
      "(tools/pdpctl/testdata/policy/identities.yaml:28): glob "
      "\"crm.import_contacts\" "
      "(tools/pdpctl/testdata/policy/identities.yaml:29)\n"
      "    scopes held: contacts:write; missing: none\n"));
  EXPECT_THAT(e, HasSubstr("the tool's autonomy is approval\n"));
}

TEST(ExplainTest, UnknownToolAndJsonConflict) {
  Result unknown = Check({"--service", "import-worker", "--tool", "crm.nope"});
  EXPECT_THAT(Explanation(unknown.out),
              HasSubstr("  tool crm.nope: not in the policy\n"));
  Result json = Check({"--service", "import-worker", "--tool",
                       "crm.import_contacts", "--json"});
  EXPECT_EQ(json.code, kExitUsage);
}

}  // namespace
}  // namespace pdpctl
