// Golden scenarios: the Acme example policy (examples/policies/acme) against
// the table in tests/golden/acme_cases.yaml. The table is the specification,
// derived from DESIGN §2 and docs/policy.md; a failure names the case's line.
//
// Besides checking every case, the tests make sure the table keeps covering
// what it must (every reason code, effect, precedence rule, amr kind, deny
// rule and discovery annotation), so coverage cannot silently regress.

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "pdp/compiler.h"
#include "pdp/decision.h"
#include "pdp/evaluator.h"
#include "pdp/names.h"
#include "pdp/request.h"
#include "pdp/snapshot.h"
#include "tests/golden/cases.h"
#include "tests/testing/shared_env.h"

namespace pdp {
namespace {

using golden::CheckCase;
using golden::DiscoveryCase;
using golden::ExpectedTool;
using golden::kCasesFile;
using golden::kPolicyDir;
using golden::Table;

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::string List(const std::vector<std::string>& v) {
  return absl::StrCat("[", absl::StrJoin(v, ", "), "]");
}

// What a decision says, in the table's words.
struct Observed {
  std::string effect;
  std::vector<std::string> reasons;  // Sorted "link:CODE".
  std::vector<std::string> missing_scopes;
  std::vector<std::string> rules;
  std::vector<std::string> redact;
  std::string step_up;
  std::string detail;  // Every reason with its message, for failures.
};

std::string StepUpWord(v1::AuthStrength strength) {
  return strength == v1::AUTH_STRENGTH_UNSPECIFIED
             ? ""
             : std::string(AuthStrengthName(strength));
}

Observed Observe(const Snapshot& snapshot, const Decision& d) {
  Observed o;
  o.effect = std::string(EffectName(d.effect));
  for (const Reason& r : d.reasons) {
    std::string reason =
        absl::StrCat(LinkName(r.link), ":", ReasonCodeName(r.code));
    o.reasons.push_back(reason);
    absl::StrAppend(&o.detail, "\n    ", reason, " \"", r.message, "\"");
    o.missing_scopes.insert(o.missing_scopes.end(), r.missing_scopes.begin(),
                            r.missing_scopes.end());
    if (!r.rule_id.empty()) o.rules.push_back(r.rule_id);
  }
  o.reasons = Sorted(o.reasons);
  o.missing_scopes = Sorted(o.missing_scopes);
  o.rules = Sorted(o.rules);
  o.redact = Sorted(snapshot.DataClassNames(d.redact));
  o.step_up = StepUpWord(d.step_up);
  return o;
}

// The Acme policy and the golden table, loaded once for the suite.
struct Env {
  std::shared_ptr<const Snapshot> snapshot;
  Table table;
};

absl::StatusOr<std::unique_ptr<Env>> MakeEnv() {
  auto env = std::make_unique<Env>();
  absl::StatusOr<std::shared_ptr<const Snapshot>> snapshot =
      Compiler::CompileDirectory(kPolicyDir);
  if (!snapshot.ok()) return snapshot.status();
  env->snapshot = *std::move(snapshot);
  absl::StatusOr<Table> table = golden::ReadTable(kCasesFile);
  if (!table.ok()) return table.status();
  env->table = *std::move(table);
  return env;
}

class GoldenTest : public testenv::SharedEnvTest<Env, MakeEnv> {
 protected:
  static const Snapshot& snapshot() { return *env().snapshot; }
  static const Table& table() { return env().table; }
  static const UserSource* users() { return env().table.users.get(); }
};

TEST_F(GoldenTest, TableIsNotEmpty) {
  EXPECT_GE(table().checks.size(), 100u);
  EXPECT_GE(table().discovery.size(), 15u);
}

TEST_F(GoldenTest, Checks) {
  for (const CheckCase& c : table().checks) {
    absl::StatusOr<Decision> decision = Check(snapshot(), c.request, users());
    if (c.error.has_value()) {
      if (decision.ok()) {
        ADD_FAILURE_AT(kCasesFile, c.line)
            << "case " << c.name << ": expected " << *c.error
            << ", got a decision " << EffectName(decision->effect);
      } else if (*c.error == "INVALID_ARGUMENT") {
        EXPECT_TRUE(absl::IsInvalidArgument(decision.status()))
            << kCasesFile << ":" << c.line << ": case " << c.name << ": "
            << decision.status();
      }
      continue;
    }
    if (!decision.ok()) {
      ADD_FAILURE_AT(kCasesFile, c.line)
          << "case " << c.name << ": expected " << c.effect << ", got "
          << decision.status();
      continue;
    }
    const Observed o = Observe(snapshot(), *decision);
    std::vector<std::string> wrong;
    if (o.effect != c.effect) {
      wrong.push_back(absl::StrCat("effect: expected ", c.effect, ", got ",
                                   o.effect));
    }
    if (o.reasons != c.reasons) {
      wrong.push_back(absl::StrCat("reasons: expected ", List(c.reasons),
                                   ", got ", List(o.reasons)));
    }
    if (o.missing_scopes != c.missing_scopes) {
      wrong.push_back(absl::StrCat("missing scopes: expected ",
                                   List(c.missing_scopes), ", got ",
                                   List(o.missing_scopes)));
    }
    if (o.rules != c.rules) {
      wrong.push_back(absl::StrCat("rules: expected ", List(c.rules), ", got ",
                                   List(o.rules)));
    }
    if (o.redact != c.redact) {
      wrong.push_back(absl::StrCat("redact: expected ", List(c.redact),
                                   ", got ", List(o.redact)));
    }
    if (o.step_up != c.step_up) {
      wrong.push_back(absl::StrCat("step_up: expected \"", c.step_up,
                                   "\", got \"", o.step_up, "\""));
    }
    for (const Reason& r : decision->reasons) {
      if (r.message.empty()) {
        wrong.push_back(absl::StrCat(ReasonCodeName(r.code),
                                     " has no message"));
      }
      if (r.code == v1::Reason::MISSING_SCOPE && r.missing_scopes.empty()) {
        wrong.push_back("MISSING_SCOPE names no scope");
      }
      if (r.code == v1::Reason::RULE && r.rule_id.empty()) {
        wrong.push_back("RULE names no rule");
      }
    }
    if (!wrong.empty()) {
      ADD_FAILURE_AT(kCasesFile, c.line)
          << "case " << c.name << ":\n  " << absl::StrJoin(wrong, "\n  ")
          << "\n  decision reasons:" << (o.detail.empty() ? " (none)" : o.detail);
    }
  }
}

TEST_F(GoldenTest, BatchCheckAnswersLikeCheck) {
  std::vector<Request> requests;
  std::vector<const CheckCase*> cases;
  for (const CheckCase& c : table().checks) {
    if (c.error.has_value()) continue;
    requests.push_back(c.request);
    cases.push_back(&c);
  }
  absl::StatusOr<std::vector<Decision>> batch =
      BatchCheck(snapshot(), requests, users());
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->size(), requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    absl::StatusOr<Decision> one = Check(snapshot(), requests[i], users());
    ASSERT_TRUE(one.ok()) << one.status();
    const Observed a = Observe(snapshot(), (*batch)[i]);
    const Observed b = Observe(snapshot(), *one);
    EXPECT_TRUE(a.effect == b.effect && a.reasons == b.reasons &&
                a.redact == b.redact && a.step_up == b.step_up)
        << kCasesFile << ":" << cases[i]->line << ": case " << cases[i]->name
        << ": BatchCheck answered " << a.effect << List(a.reasons)
        << ", Check answered " << b.effect << List(b.reasons);
  }
}

std::string Describe(const std::vector<ExpectedTool>& tools) {
  std::vector<std::string> parts;
  for (const ExpectedTool& t : tools) {
    std::string part = t.id;
    if (t.requires_approval) absl::StrAppend(&part, " approval");
    if (!t.step_up.empty()) absl::StrAppend(&part, " step_up=", t.step_up);
    if (!t.redact.empty()) absl::StrAppend(&part, " redact=", List(t.redact));
    parts.push_back(part);
  }
  return absl::StrCat("[", absl::StrJoin(parts, "; "), "]");
}

std::vector<ExpectedTool> ToExpected(const Snapshot& snapshot,
                                     const std::vector<VisibleTool>& visible) {
  std::vector<ExpectedTool> out;
  for (const VisibleTool& v : visible) {
    ExpectedTool t;
    t.id = snapshot.tools()[v.tool].id;
    t.requires_approval = v.requires_approval;
    t.step_up = StepUpWord(v.step_up);
    t.redact = Sorted(snapshot.DataClassNames(v.redact));
    out.push_back(std::move(t));
  }
  return out;
}

TEST_F(GoldenTest, Discovery) {
  for (const DiscoveryCase& c : table().discovery) {
    absl::StatusOr<std::vector<VisibleTool>> visible =
        FilterTools(snapshot(), c.chain, c.selection, users());
    if (!visible.ok()) {
      ADD_FAILURE_AT(kCasesFile, c.line)
          << "case " << c.name << ": " << visible.status();
      continue;
    }
    std::vector<ExpectedTool> got = ToExpected(snapshot(), *visible);
    if (!(got == c.visible)) {
      ADD_FAILURE_AT(kCasesFile, c.line)
          << "case " << c.name << ":\n  expected " << Describe(c.visible)
          << "\n  got      " << Describe(got);
    }
  }
}

// FilterTools shows exactly the tools Check(see) does not deny, each
// annotated with what Check(call) would answer (DENY > STEP_UP >
// REQUIRE_APPROVAL > ALLOW), and never one a call would simply refuse.
TEST_F(GoldenTest, DiscoveryAgreesWithCheck) {
  for (const DiscoveryCase& c : table().discovery) {
    std::vector<std::string> candidates = c.selection.tool_ids;
    if (!c.selection.server_id.empty()) {
      for (const Snapshot::Tool& tool : snapshot().tools()) {
        if (tool.server == c.selection.server_id) candidates.push_back(tool.id);
      }
    }
    std::map<std::string, const ExpectedTool*> visible;
    for (const ExpectedTool& t : c.visible) visible[t.id] = &t;
    for (const std::string& id : candidates) {
      Request see{c.chain, id, Action::kSee};
      Request call{c.chain, id, Action::kCall};
      absl::StatusOr<Decision> seen = Check(snapshot(), see, users());
      absl::StatusOr<Decision> called = Check(snapshot(), call, users());
      ASSERT_TRUE(seen.ok() && called.ok());
      auto it = visible.find(id);
      const bool shown = it != visible.end();
      EXPECT_EQ(shown, seen->effect != v1::EFFECT_DENY)
          << kCasesFile << ":" << c.line << ": case " << c.name << ": " << id
          << (shown ? " is listed visible but Check(see) denies it"
                    : " is not listed visible but Check(see) allows it");
      if (!shown) continue;
      const ExpectedTool& t = *it->second;
      v1::Effect expected = !t.step_up.empty()    ? v1::EFFECT_STEP_UP
                            : t.requires_approval ? v1::EFFECT_REQUIRE_APPROVAL
                                                  : v1::EFFECT_ALLOW;
      EXPECT_EQ(std::string(EffectName(called->effect)),
                std::string(EffectName(expected)))
          << kCasesFile << ":" << c.line << ": case " << c.name << ": " << id;
      EXPECT_EQ(Sorted(snapshot().DataClassNames(called->redact)), t.redact)
          << kCasesFile << ":" << c.line << ": case " << c.name << ": " << id;
    }
  }
}

// --- The table must keep covering what matters. ---

TEST_F(GoldenTest, CoversEveryReasonCode) {
  std::set<std::string> expected;
  for (const CheckCase& c : table().checks) {
    for (const std::string& reason : c.reasons) {
      expected.insert(reason.substr(reason.find(':') + 1));
    }
  }
  const google::protobuf::EnumDescriptor* codes =
      v1::Reason::Code_descriptor();
  // The golden chains are asserted ids. CheckClientRequest's own codes are
  // covered by pdp/client_request_test.cc and tests/server; the token codes,
  // which need tokens, by pdp/chain_tokens_test.cc and
  // tests/server/token_test.cc.
  const std::set<int> not_check = {
      v1::Reason::REDIRECT_URI_MISMATCH,   v1::Reason::SCOPE_NOT_ALLOWED,
      v1::Reason::PKCE_REQUIRED,           v1::Reason::TOKEN_INVALID,
      v1::Reason::TOKEN_EXPIRED,           v1::Reason::TOKEN_LIFETIME_TOO_LONG,
      v1::Reason::TOKEN_AUDIENCE_MISMATCH, v1::Reason::TOKEN_BINDING_MISMATCH,
      v1::Reason::ISSUER_UNTRUSTED,        v1::Reason::DELEGATION_TOO_DEEP};
  for (int i = 0; i < codes->value_count(); ++i) {
    const std::string& name = codes->value(i)->name();
    if (codes->value(i)->number() == v1::Reason::CODE_UNSPECIFIED) continue;
    if (not_check.count(codes->value(i)->number()) > 0) continue;
    EXPECT_EQ(expected.count(name), 1u)
        << "no golden case expects reason code " << name;
  }
}

TEST_F(GoldenTest, CoversEveryEffectAndStrength) {
  std::set<std::string> effects, step_ups, errors;
  for (const CheckCase& c : table().checks) {
    if (c.error.has_value()) errors.insert(*c.error);
    effects.insert(c.effect);
    step_ups.insert(c.step_up);
  }
  for (const char* effect : {"ALLOW", "DENY", "STEP_UP", "REQUIRE_APPROVAL"}) {
    EXPECT_EQ(effects.count(effect), 1u) << "no case expects " << effect;
  }
  for (const char* strength : {"mfa", "phishing_resistant"}) {
    EXPECT_EQ(step_ups.count(strength), 1u)
        << "no case expects a step-up to " << strength;
  }
  EXPECT_EQ(errors.count("INVALID_ARGUMENT"), 1u)
      << "no case sends a malformed chain";
}

// Each amr kind of DESIGN §2, including none at all, meets a tool whose
// required strength it does not reach and one whose it does.
TEST_F(GoldenTest, CoversEveryAmrKind) {
  std::map<std::string, std::set<std::string>> outcomes;  // amr -> effects
  for (const CheckCase& c : table().checks) {
    if (c.error.has_value() || !c.request.chain.service_id.empty()) continue;
    const int t = snapshot().FindTool(c.request.tool_id);
    if (t < 0 || snapshot().tools()[t].auth == v1::AUTH_STRENGTH_PASSWORD) {
      continue;
    }
    std::vector<std::string> amr = c.request.chain.amr;
    if (amr.empty()) amr.push_back("(none)");
    for (const std::string& method : amr) {
      outcomes[method].insert(c.effect == "STEP_UP" ? "STEP_UP" : "enough");
    }
  }
  for (const char* method : {"(none)", "pwd", "otp", "sms", "mfa", "hwk",
                             "swk"}) {
    EXPECT_FALSE(outcomes[method].empty())
        << "no case with amr " << method << " calls a tool needing more than "
        << "a password";
  }
  EXPECT_EQ(outcomes["(none)"].count("STEP_UP"), 1u);
  EXPECT_EQ(outcomes["pwd"].count("STEP_UP"), 1u);
  EXPECT_EQ(outcomes["otp"].count("STEP_UP"), 1u);  // Below phishing resistant.
  EXPECT_EQ(outcomes["otp"].count("enough"), 1u);
  EXPECT_EQ(outcomes["hwk"].count("enough"), 1u);
  EXPECT_EQ(outcomes["swk"].count("enough"), 1u);
}

// Every precedence pair of DENY > STEP_UP > REQUIRE_APPROVAL > ALLOW is
// exercised: a case where both effects apply and the higher one wins.
TEST_F(GoldenTest, CoversEveryPrecedenceRule) {
  const Snapshot& s = snapshot();
  bool deny_over_step_up = false, deny_over_approval = false,
       step_up_over_approval = false, approval_over_allow = false;
  for (const CheckCase& c : table().checks) {
    if (c.error.has_value() || c.request.action != Action::kCall) continue;
    const Chain& chain = c.request.chain;
    const int t = s.FindTool(c.request.tool_id);
    if (t < 0) continue;
    const Snapshot::Tool& tool = s.tools()[t];
    const bool service = !chain.service_id.empty();
    const bool needs_step_up =
        !service && StrengthFromAmr(chain.amr) < tool.auth;
    const int agent = chain.agent_id.empty() ? -1 : s.FindAgent(chain.agent_id);
    const bool needs_approval =
        (service || chain.autonomous) &&
        (tool.autonomy == v1::AUTONOMY_APPROVAL ||
         (agent >= 0 && !s.agents()[agent].autonomous));
    if (c.effect == "DENY" && needs_step_up) deny_over_step_up = true;
    if (c.effect == "DENY" && needs_approval) deny_over_approval = true;
    if (c.effect == "STEP_UP" && needs_approval) step_up_over_approval = true;
    if (c.effect == "REQUIRE_APPROVAL") approval_over_allow = true;
  }
  EXPECT_TRUE(deny_over_step_up);
  EXPECT_TRUE(deny_over_approval);
  EXPECT_TRUE(step_up_over_approval);
  EXPECT_TRUE(approval_over_allow);
}

TEST_F(GoldenTest, CoversEveryDenyRuleAndServiceOutcome) {
  std::set<std::string> fired;
  std::set<std::string> service_effects;
  bool service_redaction = false;
  for (const CheckCase& c : table().checks) {
    fired.insert(c.rules.begin(), c.rules.end());
    if (!c.error.has_value() && !c.request.chain.service_id.empty()) {
      service_effects.insert(c.effect);
      if (!c.redact.empty()) service_redaction = true;
    }
  }
  for (const Snapshot::DenyRule& rule : snapshot().deny_rules()) {
    EXPECT_EQ(fired.count(rule.id), 1u)
        << "no golden case expects deny rule " << rule.id << " to fire";
  }
  for (const char* effect : {"ALLOW", "DENY", "REQUIRE_APPROVAL"}) {
    EXPECT_EQ(service_effects.count(effect), 1u)
        << "no service case expects " << effect;
  }
  EXPECT_TRUE(service_redaction) << "no service case expects a redaction";
}

TEST_F(GoldenTest, CoversDiscoveryAnnotations) {
  bool approval = false, step_up = false, redact = false, empty = false,
       service = false, list = false;
  for (const DiscoveryCase& c : table().discovery) {
    empty |= c.visible.empty();
    service |= !c.chain.service_id.empty();
    list |= !c.selection.tool_ids.empty();
    for (const ExpectedTool& t : c.visible) {
      approval |= t.requires_approval;
      step_up |= !t.step_up.empty();
      redact |= !t.redact.empty();
    }
  }
  EXPECT_TRUE(approval);
  EXPECT_TRUE(step_up);
  EXPECT_TRUE(redact);
  EXPECT_TRUE(empty);
  EXPECT_TRUE(service);
  EXPECT_TRUE(list);
}

// The example is the cast of DESIGN §1, with every deny `when` key in use.
TEST_F(GoldenTest, ExamplePolicyHasTheWholeCast) {
  const Snapshot& s = snapshot();
  EXPECT_GE(s.tools().size(), 36u);
  std::vector<std::string> servers;
  for (const Snapshot::Server& server : s.servers()) servers.push_back(server.id);
  EXPECT_EQ(servers,
            (std::vector<std::string>{"calendar", "crm", "devops", "email",
                                      "finance", "hr", "projects",
                                      "reminders"}));
  for (const char* role : {"admin", "employee", "customer", "project-manager",
                           "support-agent", "sales", "executive", "hr",
                           "finance"}) {
    EXPECT_GE(s.FindRole(role), 0) << role;
  }
  for (const char* agent : {"sales-assistant", "payroll-assistant",
                            "support-agent", "devops-agent", "reporting-agent",
                            "personal-assistant"}) {
    EXPECT_GE(s.FindAgent(agent), 0) << agent;
  }
  for (const char* service : {"import-worker", "scheduled-job", "sync-worker",
                              "monitoring-agent", "billing-worker"}) {
    EXPECT_GE(s.FindService(service), 0) << service;
  }
  std::set<v1::ClientTrust> trusts;
  for (const Snapshot::Client& client : s.clients()) trusts.insert(client.trust);
  EXPECT_EQ(trusts.size(), 4u) << "every client trust level is used";
  EXPECT_FALSE(s.bundle().scopes().empty());
  EXPECT_FALSE(s.bundle().data_classes().empty());

  // The seed: executives receive salary; the Sales Assistant never does.
  const int executive = s.FindRole("executive");
  const int sales_assistant = s.FindAgent("sales-assistant");
  ASSERT_GE(executive, 0);
  ASSERT_GE(sales_assistant, 0);
  std::vector<std::string> executive_data =
      s.DataClassNames(s.roles()[executive].data);
  EXPECT_NE(std::find(executive_data.begin(), executive_data.end(), "salary"),
            executive_data.end());
  std::vector<std::string> assistant_data =
      s.DataClassNames(s.agents()[sales_assistant].data);
  EXPECT_EQ(std::find(assistant_data.begin(), assistant_data.end(), "salary"),
            assistant_data.end());

  std::set<std::string> keys;
  for (const v1::DenyRule& rule : s.bundle().deny()) {
    const v1::DenyCondition& w = rule.when();
    if (w.tools_size() > 0) keys.insert("tools");
    if (w.servers_size() > 0) keys.insert("servers");
    if (w.users_size() > 0) keys.insert("users");
    if (w.roles_size() > 0) keys.insert("roles");
    if (w.agents_size() > 0) keys.insert("agents");
    if (w.clients_size() > 0) keys.insert("clients");
    if (w.services_size() > 0) keys.insert("services");
    if (w.client_trust_below() != v1::CLIENT_TRUST_UNSPECIFIED) {
      keys.insert("client_trust_below");
    }
    if (w.risk_at_least() != v1::RISK_UNSPECIFIED) keys.insert("risk_at_least");
    if (w.has_autonomous()) keys.insert("autonomous");
    if (w.data_size() > 0) keys.insert("data");
  }
  EXPECT_EQ(keys.size(), 11u) << "when keys in use: "
                              << absl::StrJoin(keys, ", ");
}

}  // namespace
}  // namespace pdp
