#include "pdp/evaluator.h"

#include <map>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pdp/names.h"
#include "pdp/testing/compile.h"
#include "pdp/testing/status_matchers.h"

namespace pdp {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr char kPolicy[] = R"(
tools:
  - id: crm.search_contacts
    scopes: [contacts:read]
    data: [pii]
  - id: crm.pipeline_report
    scopes: [contacts:read]
    data: [pii, salary]
  - id: crm.export_contacts
    scopes: [contacts:read, contacts:export]
    data: [pii]
    risk: high
    min_client_trust: trusted
  - id: hr.get_salary
    scopes: [hr:read]
    data: [salary]
    auth: mfa
  - id: finance.pay
    scopes: [finance:write]
    risk: critical
    autonomy: approval
    auth: phishing_resistant
  - id: devops.drop_database
    autonomy: forbidden
roles:
  - id: sales
    tools: ["crm.*"]
    data: [pii]
  - id: executive
    inherits: [sales]
    tools: ["hr.*", "finance.*", "devops.*"]
    data: [salary]
agents:
  - id: sales-assistant
    tools: ["crm.*"]
    data: [pii]
    autonomous: true
  - id: careful
    tools: ["crm.*", "finance.*"]
    data: [pii, salary]
clients:
  - id: desktop
    trust: standard
    scopes: [contacts:read, hr:read, finance:write]
  - id: internal
    trust: internal
    scopes: [contacts:read, contacts:export, hr:read, finance:write]
services:
  - id: importer
    tools: ["crm.search_contacts", "crm.export_contacts", "finance.pay"]
    scopes: [contacts:read, finance:write]
    data: []
users:
  - id: alice
    roles: [executive]
  - id: sam
    roles: [sales]
deny:
  - id: no-export-by-agents
    when: {tools: [crm.export_contacts], agents: [sales-assistant]}
  - id: no-critical-for-standard
    when: {client_trust_below: trusted, risk_at_least: critical, autonomous: true}
)";

class EvaluatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(snapshot_, testgen::CompileYaml(kPolicy));
  }

  static Chain Delegated(std::string user, std::string client,
                         std::vector<std::string> scopes,
                         std::string agent = "") {
    Chain chain;
    chain.user_id = std::move(user);
    chain.client_id = std::move(client);
    chain.scopes = std::move(scopes);
    chain.agent_id = std::move(agent);
    return chain;
  }

  Decision MustCheck(const Chain& chain, const std::string& tool,
                     Action action = Action::kCall) {
    absl::StatusOr<Decision> d = Check(*snapshot_, {chain, tool, action});
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? *d : Decision{};
  }

  std::vector<std::string> Codes(const Decision& d) {
    std::vector<std::string> codes;
    for (const Reason& r : d.reasons) {
      codes.push_back(std::string(ReasonCodeName(r.code)));
    }
    return codes;
  }

  std::vector<std::string> Redact(DataMask mask) {
    return snapshot_->DataClassNames(mask);
  }

  std::shared_ptr<const Snapshot> snapshot_;
};

TEST_F(EvaluatorTest, AllowsWithRedaction) {
  Decision d = MustCheck(Delegated("sam", "desktop", {"contacts:read"}),
                         "crm.pipeline_report");
  EXPECT_EQ(d.effect, v1::EFFECT_ALLOW);
  EXPECT_THAT(d.reasons, IsEmpty());
  EXPECT_THAT(Redact(d.redact), ElementsAre("salary"));
}

TEST_F(EvaluatorTest, SalarySeedCase) {
  // The executive receives salary data...
  Chain alone = Delegated("alice", "desktop", {"contacts:read", "hr:read"});
  alone.amr = {"otp"};
  EXPECT_THAT(Redact(MustCheck(alone, "crm.pipeline_report").redact), IsEmpty());
  EXPECT_EQ(MustCheck(alone, "hr.get_salary").effect, v1::EFFECT_ALLOW);
  // ...the Sales Assistant acting for her never does.
  Chain agent = alone;
  agent.agent_id = "sales-assistant";
  Decision report = MustCheck(agent, "crm.pipeline_report");
  EXPECT_EQ(report.effect, v1::EFFECT_ALLOW);
  EXPECT_THAT(Redact(report.redact), ElementsAre("salary"));
  Decision salary = MustCheck(agent, "hr.get_salary");
  EXPECT_EQ(salary.effect, v1::EFFECT_DENY);
  EXPECT_THAT(Codes(salary), ElementsAre("AGENT_NOT_PERMITTED"));
  auto visible = FilterTools(*snapshot_, agent, {"hr", {}});
  ASSERT_TRUE(visible.ok());
  EXPECT_THAT(*visible, IsEmpty());
}

TEST_F(EvaluatorTest, ReportsEveryUnknownLink) {
  Decision d = MustCheck(Delegated("nobody", "rogue", {}, "ghost"), "crm.nothing");
  EXPECT_EQ(d.effect, v1::EFFECT_DENY);
  EXPECT_THAT(Codes(d), ElementsAre("TOOL_UNKNOWN", "CLIENT_NOT_REGISTERED",
                                    "USER_UNKNOWN", "AGENT_UNKNOWN"));
  EXPECT_EQ(d.reasons[0].link, v1::LINK_TOOL);
  EXPECT_EQ(d.reasons[1].link, v1::LINK_CLIENT);
  EXPECT_EQ(d.reasons[2].link, v1::LINK_USER);
  EXPECT_EQ(d.reasons[3].link, v1::LINK_AGENT);
}

TEST_F(EvaluatorTest, ReportsEveryFailingLink) {
  Decision d = MustCheck(Delegated("sam", "desktop", {}, "sales-assistant"),
                         "crm.export_contacts");
  EXPECT_EQ(d.effect, v1::EFFECT_DENY);
  EXPECT_THAT(Codes(d), ElementsAre("MISSING_SCOPE", "CLIENT_TRUST_TOO_LOW", "RULE"));
  EXPECT_THAT(d.reasons[0].missing_scopes,
              ElementsAre("contacts:read", "contacts:export"));
  EXPECT_THAT(d.reasons[0].message, HasSubstr("contacts:export not in the client's registered scopes"));
  EXPECT_EQ(d.reasons[2].rule_id, "no-export-by-agents");

  Decision user = MustCheck(Delegated("sam", "desktop", {"hr:read"}, "sales-assistant"),
                            "hr.get_salary");
  EXPECT_THAT(Codes(user), ElementsAre("USER_NOT_PERMITTED", "AGENT_NOT_PERMITTED"));
  EXPECT_THAT(user.reasons[0].message, HasSubstr("(sales)"));
}

TEST_F(EvaluatorTest, ScopesMustBeOnTokenAndInCeiling) {
  // The token holds the scope but the client's ceiling does not.
  Decision d = MustCheck(Delegated("alice", "desktop", {"contacts:read", "contacts:export"}),
                         "crm.export_contacts");
  EXPECT_THAT(Codes(d), ElementsAre("MISSING_SCOPE", "CLIENT_TRUST_TOO_LOW"));
  EXPECT_THAT(d.reasons[0].missing_scopes, ElementsAre("contacts:export"));
  EXPECT_EQ(MustCheck(Delegated("alice", "internal", {"contacts:read", "contacts:export"}),
                      "crm.export_contacts").effect,
            v1::EFFECT_ALLOW);
}

TEST_F(EvaluatorTest, StepUpByAmr) {
  Chain chain = Delegated("alice", "internal", {"hr:read"});
  Decision d = MustCheck(chain, "hr.get_salary");
  EXPECT_EQ(d.effect, v1::EFFECT_STEP_UP);
  EXPECT_EQ(d.step_up, v1::AUTH_STRENGTH_MFA);
  EXPECT_THAT(Codes(d), ElementsAre("STEP_UP_REQUIRED"));
  chain.amr = {"pwd"};
  EXPECT_EQ(MustCheck(chain, "hr.get_salary").effect, v1::EFFECT_STEP_UP);
  chain.amr = {"pwd", "sms"};
  EXPECT_EQ(MustCheck(chain, "hr.get_salary").effect, v1::EFFECT_ALLOW);
  chain.amr = {"hwk"};
  EXPECT_EQ(MustCheck(chain, "hr.get_salary").effect, v1::EFFECT_ALLOW);
  // Seeing needs no step-up.
  chain.amr = {};
  EXPECT_EQ(MustCheck(chain, "hr.get_salary", Action::kSee).effect, v1::EFFECT_ALLOW);
}

TEST_F(EvaluatorTest, Precedence) {
  // Step-up and approval both apply: STEP_UP wins.
  Chain chain = Delegated("alice", "internal", {"finance:write"}, "careful");
  chain.autonomous = true;
  chain.amr = {"otp"};
  Decision d = MustCheck(chain, "finance.pay");
  EXPECT_EQ(d.effect, v1::EFFECT_STEP_UP);
  EXPECT_EQ(d.step_up, v1::AUTH_STRENGTH_PHISHING_RESISTANT);
  // With the strength, approval remains: by the tool and by the agent.
  chain.amr = {"hwk"};
  d = MustCheck(chain, "finance.pay");
  EXPECT_EQ(d.effect, v1::EFFECT_REQUIRE_APPROVAL);
  EXPECT_THAT(Codes(d), ElementsAre("APPROVAL_REQUIRED", "APPROVAL_REQUIRED"));
  EXPECT_EQ(d.reasons[0].link, v1::LINK_TOOL);
  EXPECT_EQ(d.reasons[1].link, v1::LINK_AGENT);
  // A deny rule beats both: standard client, critical tool, autonomous.
  chain.client_id = "desktop";
  chain.amr = {};
  d = MustCheck(chain, "finance.pay");
  EXPECT_EQ(d.effect, v1::EFFECT_DENY);
  EXPECT_THAT(Codes(d), ElementsAre("RULE"));
  EXPECT_EQ(d.step_up, v1::AUTH_STRENGTH_UNSPECIFIED);
  // With a human in the loop the rule does not apply and nothing needs approval.
  chain.autonomous = false;
  chain.amr = {"hwk"};
  EXPECT_EQ(MustCheck(chain, "finance.pay").effect, v1::EFFECT_ALLOW);
}

TEST_F(EvaluatorTest, AutonomyForbidden) {
  Chain chain = Delegated("alice", "internal", {});
  EXPECT_EQ(MustCheck(chain, "devops.drop_database").effect, v1::EFFECT_ALLOW);
  chain.autonomous = true;
  Decision d = MustCheck(chain, "devops.drop_database");
  EXPECT_THAT(Codes(d), ElementsAre("AUTONOMY_FORBIDDEN"));
  EXPECT_EQ(MustCheck(chain, "devops.drop_database", Action::kSee).effect,
            v1::EFFECT_DENY);
}

TEST_F(EvaluatorTest, ServiceChains) {
  Chain service;
  service.service_id = "importer";
  EXPECT_EQ(MustCheck(service, "crm.search_contacts").effect, v1::EFFECT_ALLOW);
  EXPECT_THAT(Redact(MustCheck(service, "crm.search_contacts").redact), ElementsAre("pii"));
  EXPECT_THAT(Codes(MustCheck(service, "crm.export_contacts")), ElementsAre("MISSING_SCOPE"));
  EXPECT_EQ(MustCheck(service, "crm.export_contacts").reasons[0].link, v1::LINK_SERVICE);
  EXPECT_THAT(Codes(MustCheck(service, "hr.get_salary")),
              ElementsAre("SERVICE_NOT_PERMITTED", "MISSING_SCOPE"));
  // Services are always autonomous: approval applies.
  EXPECT_EQ(MustCheck(service, "finance.pay").effect, v1::EFFECT_REQUIRE_APPROVAL);
  service.service_id = "ghost";
  EXPECT_THAT(Codes(MustCheck(service, "crm.search_contacts")), ElementsAre("SERVICE_UNKNOWN"));
}

TEST_F(EvaluatorTest, AssertedRolesReplacePolicyRoles) {
  Chain chain = Delegated("someone@else", "internal", {"hr:read"});
  chain.amr = {"mfa"};
  EXPECT_THAT(Codes(MustCheck(chain, "hr.get_salary")), ElementsAre("USER_UNKNOWN"));
  chain.asserted_roles = {"executive"};
  EXPECT_EQ(MustCheck(chain, "hr.get_salary").effect, v1::EFFECT_ALLOW);
  chain.user_id = "alice";
  chain.asserted_roles = {"sales"};
  EXPECT_THAT(Codes(MustCheck(chain, "hr.get_salary")), ElementsAre("USER_NOT_PERMITTED"));
}

// A directory of users for the tests: a map, as the server's cache would be.
class MapDirectory : public UserSource {
 public:
  void Put(std::string id, std::vector<std::string> roles) {
    auto user = std::make_shared<v1::User>();
    user->set_id(id);
    for (std::string& role : roles) user->add_roles(std::move(role));
    users_[std::move(id)] = std::move(user);
  }
  // Leaves a tombstone, as the server's directory does.
  void Delete(const std::string& id) { users_[id] = nullptr; }
  DirectoryEntry Find(absl::string_view id) const override {
    auto it = users_.find(std::string(id));
    if (it == users_.end()) return {};
    return {it->second, it->second == nullptr};
  }

 private:
  std::map<std::string, std::shared_ptr<const v1::User>> users_;
};

TEST_F(EvaluatorTest, DirectoryUsersJoinAndOverrideThePolicy) {
  MapDirectory directory;
  directory.Put("dora", {"executive"});
  directory.Put("alice", {"sales"});  // Demoted in the directory.
  directory.Put("ghost-roles", {"no-such-role"});
  Chain dora = Delegated("dora", "internal", {"hr:read"});
  dora.amr = {"otp"};
  EXPECT_THAT(Codes(MustCheck(dora, "hr.get_salary")), ElementsAre("USER_UNKNOWN"));
  auto d = Check(*snapshot_, {dora, "hr.get_salary"}, &directory);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->effect, v1::EFFECT_ALLOW);

  Chain alice = dora;
  alice.user_id = "alice";
  EXPECT_EQ(MustCheck(alice, "hr.get_salary").effect, v1::EFFECT_ALLOW);
  d = Check(*snapshot_, {alice, "hr.get_salary"}, &directory);
  ASSERT_TRUE(d.ok());
  EXPECT_THAT(Codes(*d), ElementsAre("USER_NOT_PERMITTED"));
  auto visible = FilterTools(*snapshot_, alice, {"hr", {}}, &directory);
  ASSERT_TRUE(visible.ok());
  EXPECT_THAT(*visible, IsEmpty());

  // Known to the directory, but its roles grant nothing.
  Chain ghost = dora;
  ghost.user_id = "ghost-roles";
  d = Check(*snapshot_, {ghost, "hr.get_salary"}, &directory);
  ASSERT_TRUE(d.ok());
  EXPECT_THAT(Codes(*d), ElementsAre("USER_NOT_PERMITTED"));
}

TEST_F(EvaluatorTest, ADirectoryTombstoneRevokesAUserThePolicyLists) {
  MapDirectory directory;
  Chain alice = Delegated("alice", "internal", {"hr:read"});
  alice.amr = {"otp"};
  EXPECT_EQ(MustCheck(alice, "hr.get_salary").effect, v1::EFFECT_ALLOW);
  directory.Delete("alice");
  auto d = Check(*snapshot_, {alice, "hr.get_salary"}, &directory);
  ASSERT_TRUE(d.ok());
  EXPECT_THAT(Codes(*d), ElementsAre("USER_UNKNOWN"));
  auto visible = FilterTools(*snapshot_, alice, {"hr", {}}, &directory);
  ASSERT_TRUE(visible.ok());
  EXPECT_THAT(*visible, IsEmpty());

  // Upserted again: known again, with the directory's roles.
  directory.Put("alice", {"executive"});
  d = Check(*snapshot_, {alice, "hr.get_salary"}, &directory);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->effect, v1::EFFECT_ALLOW);
}

// Caller-supplied ids reach reasons escaped and shortened (pdp::Quote):
// a 1 MiB id costs a short message, never the id echoed whole.
TEST_F(EvaluatorTest, CallerIdsInReasonsAreQuotedAndShortened) {
  Chain chain = Delegated(std::string(1 << 20, 'u') + "\n\x01", "ghost-client",
                          {});
  chain.agent_id = "agent\"with\\quotes";
  auto d = Check(*snapshot_, {chain, std::string(100000, 't')});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->effect, v1::EFFECT_DENY);
  for (const Reason& reason : d->reasons) {
    EXPECT_LT(reason.message.size(), 1024u) << reason.message.substr(0, 200);
    for (char c : reason.message) {
      EXPECT_TRUE(c >= 0x20 && c < 0x7f) << reason.message.substr(0, 200);
    }
  }
  EXPECT_THAT(d->reasons.back().message, HasSubstr("\\\"with\\\\quotes"));
}

TEST_F(EvaluatorTest, MalformedChainsAreInvalidArgument) {
  Chain empty;
  EXPECT_THAT(Check(*snapshot_, {empty, "crm.search_contacts"}).status().message(),
              HasSubstr("chain.user_id and chain.client_id are empty"));
  Chain no_client = Delegated("alice", "", {});
  EXPECT_THAT(Check(*snapshot_, {no_client, "crm.search_contacts"}).status().message(),
              HasSubstr("chain.client_id is empty"));
  Chain both = Delegated("alice", "desktop", {});
  both.service_id = "importer";
  EXPECT_THAT(Check(*snapshot_, {both, "crm.search_contacts"}).status().message(),
              HasSubstr("chain.service_id is set together with chain.user_id, chain.client_id"));
  Chain agent_only;
  agent_only.agent_id = "sales-assistant";
  EXPECT_EQ(Check(*snapshot_, {agent_only, "x.y"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Check(*snapshot_, {Delegated("a", "b", {}), ""}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FilterTools(*snapshot_, empty, {"crm", {}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(BatchCheck(*snapshot_, {{Delegated("a", "b", {}), "x.y"}, {empty, "x.y"}})
                  .status()
                  .message(),
              HasSubstr("checks[1]: malformed identity chain"));
}

TEST_F(EvaluatorTest, FilterToolsAnnotates) {
  Chain chain = Delegated("alice", "internal",
                          {"contacts:read", "hr:read", "finance:write"}, "careful");
  chain.autonomous = true;
  auto visible = FilterTools(*snapshot_, chain, {"", {"finance.pay", "crm.pipeline_report",
                                                      "hr.get_salary", "nope.nope"}});
  ASSERT_TRUE(visible.ok()) << visible.status();
  ASSERT_EQ(visible->size(), 2);
  const VisibleTool& report = (*visible)[0];
  EXPECT_EQ(snapshot_->tools()[report.tool].id, "crm.pipeline_report");
  EXPECT_TRUE(report.requires_approval);  // The agent is not autonomous.
  EXPECT_THAT(Redact(report.redact), IsEmpty());
  const VisibleTool& pay = (*visible)[1];
  EXPECT_EQ(snapshot_->tools()[pay.tool].id, "finance.pay");
  EXPECT_EQ(pay.step_up, v1::AUTH_STRENGTH_PHISHING_RESISTANT);
  EXPECT_TRUE(pay.requires_approval);

  EXPECT_EQ(FilterTools(*snapshot_, chain, {"crm", {"crm.search_contacts"}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FilterTools(*snapshot_, chain, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto none = FilterTools(*snapshot_, chain, {"unknown-server", {}});
  ASSERT_TRUE(none.ok());
  EXPECT_THAT(*none, IsEmpty());
}

TEST_F(EvaluatorTest, FilterHidesForbiddenOnlyWhenAutonomous) {
  Chain chain = Delegated("alice", "internal", {});
  auto visible = FilterTools(*snapshot_, chain, {"devops", {}});
  ASSERT_TRUE(visible.ok());
  EXPECT_EQ(visible->size(), 1);
  chain.autonomous = true;
  visible = FilterTools(*snapshot_, chain, {"devops", {}});
  ASSERT_TRUE(visible.ok());
  EXPECT_THAT(*visible, IsEmpty());
}

// Chains built from verified tokens (pdp/chain_tokens.h) carry their
// problems and audiences; the evaluator applies them.
TEST_F(EvaluatorTest, RejectedTokenDeniesWithItsReasonOnly) {
  Chain chain;  // The token was rejected: no identities were filled.
  Reason problem;
  problem.link = v1::LINK_CLIENT;
  problem.code = v1::Reason::TOKEN_EXPIRED;
  problem.message = "the access token is refused: it expired";
  chain.token_problems.push_back(problem);
  Decision d = MustCheck(chain, "crm.search_contacts");
  EXPECT_EQ(d.effect, v1::EFFECT_DENY);
  EXPECT_THAT(Codes(d), ElementsAre("TOKEN_EXPIRED"));
  EXPECT_EQ(d.reasons[0].link, v1::LINK_CLIENT);
  auto visible = FilterTools(*snapshot_, chain, {"crm", {}});
  ASSERT_TRUE(visible.ok()) << visible.status();
  EXPECT_THAT(*visible, IsEmpty());
  // A missing tool id is still a malformed request.
  EXPECT_FALSE(Check(*snapshot_, {chain, "", Action::kCall}).ok());
}

TEST_F(EvaluatorTest, TokenProblemsJoinTheOtherFailingLinks) {
  Chain chain = Delegated("sam", "desktop", {"contacts:read"});
  Reason problem;
  problem.link = v1::LINK_CLIENT;
  problem.code = v1::Reason::TOKEN_BINDING_MISMATCH;
  chain.token_problems.push_back(problem);
  EXPECT_THAT(Codes(MustCheck(chain, "crm.search_contacts")),
              ElementsAre("TOKEN_BINDING_MISMATCH"));
  EXPECT_THAT(Codes(MustCheck(chain, "hr.get_salary")),
              ElementsAre("TOKEN_BINDING_MISMATCH", "USER_NOT_PERMITTED",
                          "MISSING_SCOPE"));
  auto visible = FilterTools(*snapshot_, chain, {"crm", {}});
  ASSERT_TRUE(visible.ok());
  EXPECT_THAT(*visible, IsEmpty());
}

TEST_F(EvaluatorTest, TokenAudienceMustNameTheToolsServer) {
  // No `servers:` registry: a server accepts tokens for its own id.
  Chain chain = Delegated("alice", "internal", {"contacts:read", "hr:read"});
  chain.amr = {"otp"};
  chain.token_audiences.push_back({v1::LINK_CLIENT, {"other", "crm"}});
  EXPECT_EQ(MustCheck(chain, "crm.search_contacts").effect, v1::EFFECT_ALLOW);
  Decision hr = MustCheck(chain, "hr.get_salary");
  EXPECT_EQ(hr.effect, v1::EFFECT_DENY);
  EXPECT_THAT(Codes(hr), ElementsAre("TOKEN_AUDIENCE_MISMATCH"));
  EXPECT_EQ(hr.reasons[0].link, v1::LINK_CLIENT);
  EXPECT_THAT(hr.reasons[0].message, HasSubstr("\"hr\""));

  auto by_server = FilterTools(*snapshot_, chain, {"hr", {}});
  ASSERT_TRUE(by_server.ok());
  EXPECT_THAT(*by_server, IsEmpty());
  auto by_ids = FilterTools(*snapshot_, chain,
                            {"", {"hr.get_salary", "crm.search_contacts"}});
  ASSERT_TRUE(by_ids.ok());
  ASSERT_EQ(by_ids->size(), 1u);
  EXPECT_EQ(snapshot_->tools()[(*by_ids)[0].tool].id, "crm.search_contacts");

  // Every token of the chain must have been issued for the server.
  chain.token_audiences.push_back({v1::LINK_AGENT, {"hr"}});
  EXPECT_THAT(Codes(MustCheck(chain, "crm.search_contacts")),
              ElementsAre("TOKEN_AUDIENCE_MISMATCH"));
  EXPECT_EQ(MustCheck(chain, "crm.search_contacts").reasons[0].link,
            v1::LINK_AGENT);
}

}  // namespace
}  // namespace pdp
