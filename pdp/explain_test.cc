#include "pdp/explain.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pdp/evaluator.h"
#include "pdp/testing/compile.h"
#include "pdp/testing/status_matchers.h"
#include "pdp/user_source.h"

namespace pdp {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;
using ::testing::Not;

// Line numbers matter: the explanation names them. Line 1 is empty.
constexpr char kPolicy[] = R"(
tools:
  - id: crm.search_contacts
    scopes: [contacts:read]
    data: [pii]
  - id: crm.export_contacts
    scopes: [contacts:export]
    risk: high
  - id: hr.get_salary
    scopes: [hr:read]
    data: [salary]
    auth: mfa
    min_client_trust: trusted
  - id: crm.import_contacts
    scopes: [contacts:write]
    autonomy: approval
roles:
  - id: sales
    tools: ["crm.import_*", "crm.search_contacts"]
  - id: executive
    inherits: [sales]
    tools: ["hr.*"]
agents:
  - id: sales-assistant
    tools: ["crm.*"]
    autonomous: true
clients:
  - id: claude-desktop
    trust: standard
    scopes: [contacts:read, hr:read]
services:
  - id: import-worker
    tools: ["crm.import_contacts"]
    scopes: [contacts:write]
users:
  - id: alice@acme.example
    roles: [executive]
  - id: bob@acme.example
    roles: [sales]
deny:
  - id: no-export-from-desktop
    when: {tools: [crm.export_contacts], clients: [claude-desktop]}
)";

// Line 1 is empty.
constexpr char kMore[] = R"(
agents:
  - id: payroll-assistant
    tools: ["hr.*", "crm.search_contacts"]
    autonomous: false
clients:
  - id: night-worker
    trust: trusted
    scopes: [contacts:read]
    interactive: false
)";

class ExplainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(snapshot_,
                         testgen::CompileYaml({{"policy.yaml", kPolicy},
                                               {"more.yaml", kMore}}));
  }

  // Check() then Explain(), as the server and pdpctl do.
  std::vector<ExplainLine> Run(const Request& request,
                               const ExplainOptions& options = {}) {
    absl::StatusOr<Decision> decision =
        Check(*snapshot_, request, options.users);
    EXPECT_TRUE(decision.ok()) << decision.status();
    return Explain(*snapshot_, request, *decision, options);
  }

  static Request Delegated(std::string user, std::string tool,
                           std::vector<std::string> scopes = {},
                           std::string agent = "") {
    Request request;
    request.chain.user_id = std::move(user);
    request.chain.client_id = "claude-desktop";
    request.chain.scopes = std::move(scopes);
    request.chain.agent_id = std::move(agent);
    request.tool_id = std::move(tool);
    return request;
  }

  std::shared_ptr<const Snapshot> snapshot_;
};

std::vector<std::string> Texts(const std::vector<ExplainLine>& lines,
                               v1::Link link) {
  std::vector<std::string> texts;
  for (const ExplainLine& line : lines) {
    if (line.link == link) {
      texts.push_back(
          absl::StrCat(std::string(2 * line.depth, ' '), line.text));
    }
  }
  return texts;
}

TEST_F(ExplainTest, NamesTheInheritedRoleAndGlobWithFileLine) {
  std::vector<ExplainLine> lines = Run(
      Delegated("alice@acme.example", "crm.search_contacts", {"contacts:read"}),
      {.source_dir = "policies/acme"});
  EXPECT_THAT(Texts(lines, v1::LINK_TOOL),
              ElementsAre("tool crm.search_contacts "
                          "(policies/acme/policy.yaml:3): scopes "
                          "contacts:read; data pii; risk medium; autonomy "
                          "allowed; auth password; min_client_trust "
                          "untrusted"));
  EXPECT_THAT(Texts(lines, v1::LINK_USER),
              ElementsAre("user alice@acme.example "
                          "(policies/acme/policy.yaml:36): roles executive",
                          "  granted by role sales "
                          "(policies/acme/policy.yaml:18) inherited via "
                          "executive -> sales: glob \"crm.search_contacts\" "
                          "(policies/acme/policy.yaml:19)"));
  EXPECT_THAT(Texts(lines, v1::LINK_AGENT), ElementsAre("agent: none"));
  EXPECT_THAT(Texts(lines, v1::LINK_CLIENT),
              ElementsAre("client claude-desktop "
                          "(policies/acme/policy.yaml:28): trust standard, "
                          "tool needs at least untrusted (ok)",
                          "  tool scopes in the client's ceiling: "
                          "contacts:read; not: none",
                          "  tool scopes in the token: contacts:read; not: "
                          "none"));
  EXPECT_THAT(Texts(lines, v1::LINK_RULE),
              ElementsAre("deny rules matched: none"));
  EXPECT_THAT(Texts(lines, v1::LINK_UNSPECIFIED),
              ElementsAre("autonomy: the chain is not autonomous (the request says a human "
                          "is in the loop, and the client is interactive); the tool's "
                          "autonomy is allowed",
                          "auth: the session has password; the tool requires "
                          "password"));
}

TEST_F(ExplainTest, WithoutSourceDirNamesTheBundlesFiles) {
  std::vector<ExplainLine> lines =
      Run(Delegated("alice@acme.example", "hr.get_salary", {"hr:read"}));
  EXPECT_THAT(Texts(lines, v1::LINK_USER),
              Contains("  granted by role executive (policy.yaml:20): glob "
                       "\"hr.*\" (policy.yaml:22)"));
  EXPECT_THAT(Texts(lines, v1::LINK_CLIENT),
              Contains("client claude-desktop (policy.yaml:28): trust "
                       "standard, tool needs at least trusted (too low)"));
  EXPECT_THAT(Texts(lines, v1::LINK_UNSPECIFIED),
              Contains("auth: the session has password; the tool requires "
                       "mfa"));
}

TEST_F(ExplainTest, ShowsWhatIsMissingTheAgentAndTheMatchingRule) {
  Request request = Delegated("bob@acme.example", "crm.export_contacts", {},
                              "sales-assistant");
  request.chain.autonomous = true;
  std::vector<ExplainLine> lines = Run(request);
  EXPECT_THAT(Texts(lines, v1::LINK_USER),
              Contains("  no role of the user grants crm.export_contacts"));
  EXPECT_THAT(Texts(lines, v1::LINK_AGENT),
              ElementsAre("agent sales-assistant (policy.yaml:24): glob "
                          "\"crm.*\" (policy.yaml:25); autonomous yes"));
  EXPECT_THAT(Texts(lines, v1::LINK_CLIENT),
              Contains("  tool scopes in the client's ceiling: none; not: "
                       "contacts:export"));
  EXPECT_THAT(Texts(lines, v1::LINK_RULE),
              ElementsAre("deny rules matched: no-export-from-desktop "
                          "(policy.yaml:41)"));
  EXPECT_THAT(Texts(lines, v1::LINK_UNSPECIFIED),
              Contains("autonomy: the chain is autonomous (the request says so); "
                               "the tool's "
                       "autonomy is allowed"));
}

TEST_F(ExplainTest, ShowsEachHopOfADelegationAndWhatItRemoves) {
  Request request = Delegated("alice@acme.example", "crm.search_contacts",
                              {"contacts:read"}, "sales-assistant");
  request.chain.delegated_agents = {"payroll-assistant"};
  std::vector<ExplainLine> lines = Run(request);
  EXPECT_THAT(
      Texts(lines, v1::LINK_AGENT),
      ElementsAre("agent sales-assistant (delegation hop 1 of 2) "
                  "(policy.yaml:24): glob \"crm.*\" (policy.yaml:25); "
                  "autonomous yes",
                  "  removes: data pii",
                  "agent payroll-assistant (delegation hop 2 of 2) "
                  "(more.yaml:3): glob \"crm.search_contacts\" (more.yaml:4); "
                  "autonomous no",
                  "  removes: acting autonomously"));
}

TEST_F(ExplainTest, SaysWhyAChainThroughANonInteractiveClientIsAutonomous) {
  Request request = Delegated("bob@acme.example", "crm.search_contacts",
                              {"contacts:read"});
  request.chain.client_id = "night-worker";
  std::vector<ExplainLine> lines = Run(request);
  EXPECT_THAT(Texts(lines, v1::LINK_UNSPECIFIED),
              Contains("autonomy: the chain is autonomous (client night-worker "
                       "is registered interactive: false, whatever the "
                       "request says); the tool's autonomy is allowed"));
}

TEST_F(ExplainTest, ExplainsServiceChains) {
  Request request;
  request.chain.service_id = "import-worker";
  request.tool_id = "crm.import_contacts";
  std::vector<ExplainLine> lines = Run(request);
  EXPECT_THAT(Texts(lines, v1::LINK_SERVICE),
              ElementsAre("service import-worker (policy.yaml:32): glob "
                          "\"crm.import_contacts\" (policy.yaml:33)",
                          "  scopes held: contacts:write; missing: none"));
  EXPECT_THAT(Texts(lines, v1::LINK_USER), IsEmpty());
  EXPECT_THAT(Texts(lines, v1::LINK_UNSPECIFIED),
              ElementsAre("autonomy: the chain is autonomous (a service always "
                          "is); the tool's "
                          "autonomy is approval"));
}

class OneUser final : public UserSource {
 public:
  explicit OneUser(v1::User user)
      : user_(std::make_shared<v1::User>(std::move(user))) {}
  DirectoryEntry Find(absl::string_view id) const override {
    return {id == user_->id() ? user_ : nullptr};
  }

 private:
  std::shared_ptr<const v1::User> user_;
};

TEST_F(ExplainTest, DirectoryUserReplacesThePolicysUser) {
  v1::User bob;
  bob.set_id("bob@acme.example");
  bob.add_roles("executive");
  OneUser directory(bob);
  std::vector<ExplainLine> lines =
      Run(Delegated("bob@acme.example", "hr.get_salary", {"hr:read"}),
          {.users = &directory});
  EXPECT_THAT(Texts(lines, v1::LINK_USER),
              ElementsAre("user bob@acme.example (the directory): roles "
                          "executive",
                          "  granted by role executive (policy.yaml:20): glob "
                          "\"hr.*\" (policy.yaml:22)"));
  // Asserted roles replace both.
  Request asserted = Delegated("bob@acme.example", "hr.get_salary");
  asserted.chain.asserted_roles = {"sales"};
  EXPECT_THAT(Texts(Run(asserted, {.users = &directory}), v1::LINK_USER),
              ElementsAre("user bob@acme.example: asserted roles sales",
                          "  no role of the user grants hr.get_salary"));
  // Unknown users have no roles.
  EXPECT_THAT(
      Texts(Run(Delegated("eve@acme.example", "hr.get_salary")), v1::LINK_USER),
      ElementsAre("user eve@acme.example: not in the policy (no "
                  "roles)"));
}

TEST_F(ExplainTest, UnknownToolIsOneLine) {
  std::vector<ExplainLine> lines =
      Run(Delegated("alice@acme.example", "crm.nope"));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].link, v1::LINK_TOOL);
  EXPECT_EQ(lines[0].text, "tool crm.nope: not in the policy");
  EXPECT_THAT(lines, Not(Contains(Field(&ExplainLine::depth, 1))));
}

TEST_F(ExplainTest, NamesTokenProblemsAndAudiences) {
  Request request = Delegated("alice@acme.example", "hr.get_salary", {"hr:read"});
  Reason problem;
  problem.link = v1::LINK_CLIENT;
  problem.code = v1::Reason::TOKEN_LIFETIME_TOO_LONG;
  problem.message = "the access token lives 2h; ...";
  request.chain.token_problems.push_back(problem);
  request.chain.token_audiences.push_back({v1::LINK_CLIENT, {"crm"}});
  std::vector<std::string> client = Texts(Run(request), v1::LINK_CLIENT);
  EXPECT_THAT(client, Contains("token: TOKEN_LIFETIME_TOO_LONG: the access "
                               "token lives 2h; ..."));
  EXPECT_THAT(client, Contains("token of link client: audience crm; server hr "
                               "accepts hr"));

  // A chain whose token was rejected has no identities: still explained.
  Request rejected;
  rejected.tool_id = "hr.get_salary";
  rejected.chain.token_problems.push_back(problem);
  EXPECT_THAT(Texts(Run(rejected), v1::LINK_CLIENT),
              Contains(::testing::HasSubstr("TOKEN_LIFETIME_TOO_LONG")));
}

}  // namespace
}  // namespace pdp
