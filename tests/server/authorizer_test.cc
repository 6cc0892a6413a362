// The Authorizer over real gRPC and mTLS, end to end: one server started
// in-process on 127.0.0.1:0 with certificates made at test time, real
// clients with their own certificates.
//
// - The golden scenarios get the same decisions over gRPC as from the engine.
// - Caller permissions, identities (SPIFFE URI, else DNS) and asserted roles.
// - Certificates the server must refuse, malformed and oversize requests,
//   limits and deadlines; after each the server keeps serving.

#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pdp/compiler.h"
#include "pdp/decision.h"
#include "pdp/evaluator.h"
#include "pdp/names.h"
#include "pdp/request.h"
#include "pdp/server/config.h"
#include "pdp/server/server.h"
#include "pdp/snapshot.h"
#include "pdp/v1/authorizer.grpc.pb.h"
#include "tests/golden/cases.h"
#include "tests/server/test_server.h"
#include "tests/testing/shared_env.h"
#include "tests/testing/test_certs.h"

namespace pdp {
namespace servertest {
namespace {

using testcerts::KeyAndCert;
using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr char kTrustedGateway[] = "spiffe://acme.example/trusted-gateway";
constexpr char kFilterOnly[] = "spiffe://acme.example/filter-only";
constexpr char kCheckOnly[] = "spiffe://acme.example/check-only";
constexpr char kStranger[] = "spiffe://acme.example/stranger";
constexpr char kDnsCaller[] = "reports.dns.acme.example";

constexpr int kMaxMessageBytes = 256 << 10;
constexpr int kMaxBatchChecks = 200;
constexpr int kMaxFilterTools = 50;

// Everything the tests share: started once for the suite.
struct Env {
  explicit Env(TestPki p) : pki(std::move(p)) {}

  TestPki pki;
  std::unique_ptr<server::PdpServer> server;
  std::shared_ptr<const Snapshot> snapshot;  // The same policy, in-process.
  golden::Table table;
  KeyAndCert gateway, trusted, filter_only, check_only, dns_only, stranger,
      spiffe_and_dns, no_san;
  std::set<std::string> decision_ids;  // Every id the server answered.
};

absl::StatusOr<std::unique_ptr<Env>> MakeEnv() {
  absl::StatusOr<TestPki> pki = TestPki::Create();
  if (!pki.ok()) return pki.status();
  auto env = std::make_unique<Env>(*std::move(pki));

  struct Want {
    KeyAndCert* out;
    std::string spiffe, dns;
  };
  for (const Want& want :
       std::vector<Want>{{&env->gateway, kGateway, ""},
                         {&env->trusted, kTrustedGateway, ""},
                         {&env->filter_only, kFilterOnly, ""},
                         {&env->check_only, kCheckOnly, ""},
                         {&env->dns_only, "", kDnsCaller},
                         {&env->stranger, kStranger, ""},
                         {&env->spiffe_and_dns, kStranger, kDnsCaller}}) {
    absl::StatusOr<KeyAndCert> cert = env->pki.Client(want.spiffe, want.dns);
    if (!cert.ok()) return cert.status();
    *want.out = *std::move(cert);
  }
  testcerts::IssueOptions no_san;
  no_san.common_name = "no-san-client";
  no_san.client = true;
  absl::StatusOr<KeyAndCert> cert = env->pki.ca().Issue(no_san);
  if (!cert.ok()) return cert.status();
  env->no_san = *std::move(cert);

  using server::Permission;
  server::ServerConfig config = env->pki.Config();
  config.callers = {
      {kGateway, {Permission::kCheck, Permission::kFilter}},
      {kTrustedGateway,
       {Permission::kCheck, Permission::kFilter, Permission::kAssertRoles}},
      {kFilterOnly, {Permission::kFilter}},
      {kCheckOnly, {Permission::kCheck}},
      {"*.dns.acme.example", {Permission::kCheck}},
  };
  config.limits.max_message_bytes = kMaxMessageBytes;
  config.limits.max_batch_checks = kMaxBatchChecks;
  config.limits.max_filter_tools = kMaxFilterTools;
  absl::StatusOr<std::unique_ptr<server::PdpServer>> server =
      server::PdpServer::Start(config);
  if (!server.ok()) return server.status();
  env->server = *std::move(server);

  absl::StatusOr<std::shared_ptr<const Snapshot>> snapshot =
      Compiler::CompileDirectory(golden::kPolicyDir);
  if (!snapshot.ok()) return snapshot.status();
  env->snapshot = *std::move(snapshot);
  absl::StatusOr<golden::Table> table = golden::ReadTable(golden::kCasesFile);
  if (!table.ok()) return table.status();
  env->table = *std::move(table);
  return env;
}

class AuthorizerTest : public testenv::SharedEnvTest<Env, MakeEnv> {
 protected:
  static const Snapshot& snapshot() { return *env().snapshot; }

  // A stub on a new channel presenting `client` (none when null).
  static std::unique_ptr<v1::Authorizer::Stub> StubFor(
      const KeyAndCert* client) {
    return v1::Authorizer::NewStub(
        MtlsChannel(env().server->port(), env().pki.ca().cert_pem(), client));
  }

  // Records a decision id, failing on an empty or repeated one.
  static void ExpectNewId(const std::string& id, const std::string& where) {
    EXPECT_FALSE(id.empty()) << where << ": no decision_id";
    EXPECT_TRUE(env().decision_ids.insert(id).second)
        << where << ": decision_id " << id << " was given before";
  }

  // Asserts that the gateway still gets an ALLOW for a good check.
  static void ExpectStillServing(const std::string& after) {
    std::unique_ptr<v1::Authorizer::Stub> stub = StubFor(&env().gateway);
    v1::CheckResponse response;
    grpc::Status status =
        stub->Check(Deadline().get(), AllowedCheck(), &response);
    ASSERT_TRUE(status.ok()) << "after " << after << ": " << Describe(status);
    EXPECT_EQ(response.decision().effect(), v1::EFFECT_ALLOW)
        << "after " << after;
  }
};

// How `got` (from the server) differs from `want` (from the engine).
std::vector<std::string> Differences(const Snapshot& s, const Decision& want,
                                     const v1::Decision& got) {
  std::vector<std::string> wrong;
  if (got.effect() != want.effect) {
    wrong.push_back(absl::StrCat("effect: engine ", EffectName(want.effect),
                                 ", server ", EffectName(got.effect())));
  }
  if (static_cast<size_t>(got.reasons_size()) != want.reasons.size()) {
    wrong.push_back(absl::StrCat("reasons: engine ", want.reasons.size(),
                                 ", server ", got.reasons_size()));
  } else {
    for (size_t i = 0; i < want.reasons.size(); ++i) {
      const Reason& w = want.reasons[i];
      const v1::Reason& g = got.reasons(static_cast<int>(i));
      std::vector<std::string> scopes(g.missing_scopes().begin(),
                                      g.missing_scopes().end());
      if (g.link() != w.link || g.code() != w.code ||
          g.message() != w.message || scopes != w.missing_scopes ||
          g.rule_id() != w.rule_id) {
        wrong.push_back(
            absl::StrCat("reasons[", i, "]: engine ", LinkName(w.link), ":",
                         ReasonCodeName(w.code), " \"", w.message, "\" [",
                         absl::StrJoin(w.missing_scopes, ","), "] ", w.rule_id,
                         "; server ", LinkName(g.link()), ":",
                         ReasonCodeName(g.code()), " \"", g.message(), "\" [",
                         absl::StrJoin(scopes, ","), "] ", g.rule_id()));
      }
    }
  }
  std::vector<std::string> redact(got.redact().begin(), got.redact().end());
  if (redact != s.DataClassNames(want.redact)) {
    wrong.push_back(absl::StrCat(
        "redact: engine [", absl::StrJoin(s.DataClassNames(want.redact), ","),
        "], server [", absl::StrJoin(redact, ","), "]"));
  }
  if (got.step_up() != want.step_up) {
    wrong.push_back(absl::StrCat("step_up: engine ",
                                 AuthStrengthName(want.step_up), ", server ",
                                 AuthStrengthName(got.step_up())));
  }
  if (got.policy_version() != s.version()) {
    wrong.push_back(absl::StrCat("policy_version: \"", got.policy_version(),
                                 "\", expected \"", s.version(), "\""));
  }
  return wrong;
}

TEST_F(AuthorizerTest, GoldenChecksMatchTheEngine) {
  std::unique_ptr<v1::Authorizer::Stub> gateway = StubFor(&env().gateway);
  std::unique_ptr<v1::Authorizer::Stub> trusted = StubFor(&env().trusted);
  ASSERT_GE(env().table.checks.size(), 100u);
  for (const golden::CheckCase& c : env().table.checks) {
    if (!golden::AssertedOnly(env().table, c.request.chain)) continue;
    for (bool may_assert : {false, true}) {
      const std::string where =
          absl::StrCat(golden::kCasesFile, ":", c.line, ": case ", c.name,
                       " via ", may_assert ? kTrustedGateway : kGateway);
      // The engine decides the request as the server should pass it on:
      // without asserted roles unless the caller may assert them.
      Request request = c.request;
      if (!may_assert) request.chain.asserted_roles.clear();
      absl::StatusOr<Decision> want = Check(snapshot(), request);

      v1::CheckResponse response;
      grpc::Status status =
          (may_assert ? trusted : gateway)
              ->Check(Deadline().get(), ToProto(c.request), &response);
      if (!want.ok()) {
        EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
            << where << ": " << Describe(status);
        EXPECT_EQ(status.error_message(), want.status().message()) << where;
        continue;
      }
      ASSERT_TRUE(status.ok()) << where << ": " << Describe(status);
      std::vector<std::string> wrong =
          Differences(snapshot(), *want, response.decision());
      EXPECT_TRUE(wrong.empty())
          << where << ":\n  " << absl::StrJoin(wrong, "\n  ");
      ExpectNewId(response.decision().decision_id(), where);
      if (may_assert) {
        // With the roles as the table gives them, the table's answer.
        EXPECT_EQ(EffectName(response.decision().effect()), c.effect) << where;
      }
    }
  }
}

TEST_F(AuthorizerTest, GoldenBatchCheckMatchesTheEngine) {
  std::unique_ptr<v1::Authorizer::Stub> stub = StubFor(&env().gateway);
  v1::BatchCheckRequest batch;
  std::vector<const golden::CheckCase*> cases;
  for (const golden::CheckCase& c : env().table.checks) {
    if (c.error.has_value()) continue;
    if (!golden::AssertedOnly(env().table, c.request.chain)) continue;
    *batch.add_checks() = ToProto(c.request);
    cases.push_back(&c);
  }
  ASSERT_LE(batch.checks_size(), kMaxBatchChecks);
  v1::BatchCheckResponse response;
  grpc::Status status = stub->BatchCheck(Deadline().get(), batch, &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  ASSERT_EQ(response.decisions_size(), batch.checks_size());
  for (size_t i = 0; i < cases.size(); ++i) {
    const golden::CheckCase& c = *cases[i];
    const std::string where =
        absl::StrCat(golden::kCasesFile, ":", c.line, ": case ", c.name,
                     " (checks[", i, "])");
    Request request = c.request;
    request.chain.asserted_roles.clear();  // The gateway may not assert.
    absl::StatusOr<Decision> want = Check(snapshot(), request);
    ASSERT_TRUE(want.ok()) << where << ": " << want.status();
    const v1::Decision& got = response.decisions(static_cast<int>(i));
    std::vector<std::string> wrong = Differences(snapshot(), *want, got);
    EXPECT_TRUE(wrong.empty())
        << where << ":\n  " << absl::StrJoin(wrong, "\n  ");
    ExpectNewId(got.decision_id(), where);
  }
}

TEST_F(AuthorizerTest, GoldenDiscoveryMatchesTheEngine) {
  std::unique_ptr<v1::Authorizer::Stub> stub = StubFor(&env().gateway);
  ASSERT_FALSE(env().table.discovery.empty());
  for (const golden::DiscoveryCase& c : env().table.discovery) {
    if (!golden::AssertedOnly(env().table, c.chain)) continue;
    const std::string where =
        absl::StrCat(golden::kCasesFile, ":", c.line, ": case ", c.name);
    Chain chain = c.chain;
    chain.asserted_roles.clear();
    absl::StatusOr<std::vector<VisibleTool>> want =
        FilterTools(snapshot(), chain, c.selection);
    ASSERT_TRUE(want.ok()) << where << ": " << want.status();

    v1::FilterToolsRequest request;
    *request.mutable_chain() = ToProto(c.chain);
    request.set_server_id(c.selection.server_id);
    for (const std::string& id : c.selection.tool_ids) request.add_tool_ids(id);
    v1::FilterToolsResponse response;
    grpc::Status status =
        stub->FilterTools(Deadline().get(), request, &response);
    ASSERT_TRUE(status.ok()) << where << ": " << Describe(status);
    EXPECT_EQ(response.policy_version(), snapshot().version()) << where;
    ASSERT_EQ(static_cast<size_t>(response.tools_size()), want->size())
        << where;
    for (size_t i = 0; i < want->size(); ++i) {
      const VisibleTool& w = (*want)[i];
      const v1::VisibleTool& g = response.tools(static_cast<int>(i));
      std::vector<std::string> redact(g.redact().begin(), g.redact().end());
      EXPECT_EQ(g.tool_id(), snapshot().tools()[w.tool].id) << where;
      EXPECT_EQ(g.requires_approval(), w.requires_approval)
          << where << ": " << g.tool_id();
      EXPECT_EQ(g.step_up(), w.step_up) << where << ": " << g.tool_id();
      EXPECT_EQ(redact, snapshot().DataClassNames(w.redact))
          << where << ": " << g.tool_id();
    }
  }
}

// Two golden cases where the asserted role changes the decision, and a
// discovery that only the asserted role makes non-empty.
TEST_F(AuthorizerTest, AssertedRolesAreUsedOnlyWithAssertRoles) {
  std::unique_ptr<v1::Authorizer::Stub> gateway = StubFor(&env().gateway);
  std::unique_ptr<v1::Authorizer::Stub> trusted = StubFor(&env().trusted);

  // A partner user the policy does not know, asserted to be support staff.
  v1::CheckRequest contractor;
  contractor.mutable_chain()->set_user_id("contractor-7@partner.example");
  contractor.mutable_chain()->add_asserted_roles("support-agent");
  contractor.mutable_chain()->set_client_id("claude-desktop");
  contractor.mutable_chain()->add_scopes("contacts:read");
  contractor.set_tool_id("crm.get_contact");
  contractor.set_action(v1::ACTION_CALL);

  v1::CheckResponse response;
  grpc::Status status = gateway->Check(Deadline().get(), contractor, &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(response.decision().effect(), v1::EFFECT_DENY);
  ASSERT_EQ(response.decision().reasons_size(), 1);
  EXPECT_EQ(response.decision().reasons(0).code(), v1::Reason::USER_UNKNOWN);

  status = trusted->Check(Deadline().get(), contractor, &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(response.decision().effect(), v1::EFFECT_ALLOW);

  // A known user whose asserted roles are narrower than the policy's.
  v1::CheckRequest bob;
  bob.mutable_chain()->set_user_id("bob@acme.example");
  bob.mutable_chain()->add_asserted_roles("employee");
  bob.mutable_chain()->set_client_id("claude-desktop");
  bob.mutable_chain()->add_scopes("contacts:read");
  bob.set_tool_id("crm.search_contacts");

  status = gateway->Check(Deadline().get(), bob, &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(response.decision().effect(), v1::EFFECT_ALLOW);

  status = trusted->Check(Deadline().get(), bob, &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(response.decision().effect(), v1::EFFECT_DENY);
  ASSERT_EQ(response.decision().reasons_size(), 1);
  EXPECT_EQ(response.decision().reasons(0).code(),
            v1::Reason::USER_NOT_PERMITTED);

  // FilterTools: the unknown user sees nothing unless the role counts.
  v1::FilterToolsRequest filter;
  *filter.mutable_chain() = contractor.chain();
  filter.set_server_id("crm");
  v1::FilterToolsResponse tools;
  status = gateway->FilterTools(Deadline().get(), filter, &tools);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(tools.tools_size(), 0);
  status = trusted->FilterTools(Deadline().get(), filter, &tools);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_GT(tools.tools_size(), 0);
}

TEST_F(AuthorizerTest, CallersWithoutThePermissionAreDenied) {
  v1::CheckResponse check;
  v1::BatchCheckRequest batch;
  *batch.add_checks() = AllowedCheck();
  v1::BatchCheckResponse batch_response;
  v1::FilterToolsRequest filter;
  *filter.mutable_chain() = AllowedCheck().chain();
  filter.set_server_id("hr");
  v1::FilterToolsResponse tools;

  // filter but not check.
  std::unique_ptr<v1::Authorizer::Stub> filter_only =
      StubFor(&env().filter_only);
  grpc::Status status =
      filter_only->Check(Deadline().get(), AllowedCheck(), &check);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << Describe(status);
  EXPECT_THAT(status.error_message(),
              AllOf(HasSubstr(kFilterOnly), HasSubstr("\"check\"")));
  status = filter_only->BatchCheck(Deadline().get(), batch, &batch_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << Describe(status);
  EXPECT_THAT(status.error_message(), HasSubstr("\"check\""));
  status = filter_only->FilterTools(Deadline().get(), filter, &tools);
  EXPECT_TRUE(status.ok()) << Describe(status);

  // check but not filter.
  std::unique_ptr<v1::Authorizer::Stub> check_only = StubFor(&env().check_only);
  status = check_only->FilterTools(Deadline().get(), filter, &tools);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << Describe(status);
  EXPECT_THAT(status.error_message(),
              AllOf(HasSubstr(kCheckOnly), HasSubstr("\"filter\"")));
  status = check_only->Check(Deadline().get(), AllowedCheck(), &check);
  EXPECT_TRUE(status.ok()) << Describe(status);

  // A certificate from the right CA whose identity has no grant.
  std::unique_ptr<v1::Authorizer::Stub> stranger = StubFor(&env().stranger);
  status = stranger->Check(Deadline().get(), AllowedCheck(), &check);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << Describe(status);
  EXPECT_THAT(status.error_message(),
              AllOf(HasSubstr(kStranger), HasSubstr("\"check\"")));
  status = stranger->FilterTools(Deadline().get(), filter, &tools);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << Describe(status);

  ExpectStillServing("permission denials");
}

TEST_F(AuthorizerTest, CallerIsIdentifiedBySpiffeIdElseDnsName) {
  v1::CheckResponse check;
  v1::FilterToolsRequest filter;
  *filter.mutable_chain() = AllowedCheck().chain();
  filter.set_server_id("hr");
  v1::FilterToolsResponse tools;

  // Only a DNS SAN: matched by the glob "*.dns.acme.example" (check only).
  std::unique_ptr<v1::Authorizer::Stub> dns = StubFor(&env().dns_only);
  grpc::Status status = dns->Check(Deadline().get(), AllowedCheck(), &check);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(check.decision().effect(), v1::EFFECT_ALLOW);
  status = dns->FilterTools(Deadline().get(), filter, &tools);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << Describe(status);
  EXPECT_THAT(status.error_message(),
              AllOf(HasSubstr(absl::StrCat("\"", kDnsCaller, "\"")),
                    HasSubstr("\"filter\"")));

  // Both: the SPIFFE id is the identity, and it has no grant.
  std::unique_ptr<v1::Authorizer::Stub> both = StubFor(&env().spiffe_and_dns);
  status = both->Check(Deadline().get(), AllowedCheck(), &check);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << Describe(status);
  EXPECT_THAT(status.error_message(), HasSubstr(kStranger));

  // Neither: no identity at all.
  std::unique_ptr<v1::Authorizer::Stub> anonymous = StubFor(&env().no_san);
  status = anonymous->Check(Deadline().get(), AllowedCheck(), &check);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << Describe(status);
  EXPECT_THAT(status.error_message(), HasSubstr("SPIFFE"));

  ExpectStillServing("identity checks");
}

TEST_F(AuthorizerTest, UntrustedClientsCannotConnect) {
  absl::StatusOr<testcerts::TestCa> foreign_ca =
      testcerts::TestCa::Create("foreign CA");
  ASSERT_TRUE(foreign_ca.ok()) << foreign_ca.status();
  testcerts::IssueOptions gateway;
  gateway.common_name = "gateway";
  gateway.uri_sans = {kGateway};
  gateway.client = true;
  // The gateway's own identity, signed by a CA the server does not trust.
  absl::StatusOr<KeyAndCert> foreign = foreign_ca->Issue(gateway);
  ASSERT_TRUE(foreign.ok()) << foreign.status();
  // The gateway's identity from the right CA, but expired yesterday.
  testcerts::IssueOptions expired_options = gateway;
  expired_options.not_before = -absl::Hours(48);
  expired_options.not_after = -absl::Hours(24);
  absl::StatusOr<KeyAndCert> expired = env().pki.ca().Issue(expired_options);
  ASSERT_TRUE(expired.ok()) << expired.status();
  // Not valid until tomorrow.
  testcerts::IssueOptions future_options = gateway;
  future_options.not_before = absl::Hours(24);
  future_options.not_after = absl::Hours(48);
  absl::StatusOr<KeyAndCert> future = env().pki.ca().Issue(future_options);
  ASSERT_TRUE(future.ok()) << future.status();

  const std::vector<std::pair<std::string, const KeyAndCert*>> clients = {
      {"no client certificate", nullptr},
      {"a certificate from a foreign CA", &*foreign},
      {"an expired certificate", &*expired},
      {"a certificate not yet valid", &*future},
  };
  for (const auto& [what, client] : clients) {
    std::unique_ptr<v1::Authorizer::Stub> stub = StubFor(client);
    v1::CheckResponse response;
    grpc::Status status = stub->Check(Deadline(absl::Seconds(5)).get(),
                                      AllowedCheck(), &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
        << what << ": " << Describe(status);
    EXPECT_FALSE(response.has_decision()) << what;
    ExpectStillServing(what);
  }
}

TEST_F(AuthorizerTest, MalformedRequestsNameTheField) {
  std::unique_ptr<v1::Authorizer::Stub> stub = StubFor(&env().gateway);

  struct Bad {
    std::string what;
    v1::CheckRequest request;
    std::vector<std::string> names;  // Substrings the message must have.
  };
  std::vector<Bad> checks;
  {
    Bad b{"no chain", {}, {"chain.user_id"}};
    b.request.set_tool_id("crm.search_contacts");
    checks.push_back(b);
  }
  {
    Bad b{"a user without a client", {}, {"chain.client_id"}};
    b.request.mutable_chain()->set_user_id("bob@acme.example");
    b.request.set_tool_id("crm.search_contacts");
    checks.push_back(b);
  }
  {
    Bad b{"a service with a user", {}, {"chain.service_id", "chain.user_id"}};
    b.request.mutable_chain()->set_service_id("import-worker");
    b.request.mutable_chain()->set_user_id("bob@acme.example");
    b.request.set_tool_id("crm.import_contacts");
    checks.push_back(b);
  }
  {
    Bad b{"no tool", AllowedCheck(), {"tool_id"}};
    b.request.clear_tool_id();
    checks.push_back(b);
  }
  for (const Bad& bad : checks) {
    v1::CheckResponse response;
    grpc::Status status = stub->Check(Deadline().get(), bad.request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << bad.what << ": " << Describe(status);
    for (const std::string& name : bad.names) {
      EXPECT_THAT(status.error_message(), HasSubstr(name)) << bad.what;
    }
    ExpectStillServing(bad.what);
  }

  // One malformed check spoils a batch, and the message says which.
  v1::BatchCheckRequest batch;
  *batch.add_checks() = AllowedCheck();
  *batch.add_checks() = checks[1].request;
  v1::BatchCheckResponse batch_response;
  grpc::Status status =
      stub->BatchCheck(Deadline().get(), batch, &batch_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << Describe(status);
  EXPECT_THAT(status.error_message(),
              AllOf(HasSubstr("checks[1]"), HasSubstr("chain.client_id")));
  EXPECT_EQ(batch_response.decisions_size(), 0);
  ExpectStillServing("a malformed batch");

  struct BadFilter {
    std::string what;
    v1::FilterToolsRequest request;
    std::vector<std::string> names;
  };
  std::vector<BadFilter> filters;
  {
    BadFilter b{"both server_id and tool_ids", {}, {"server_id", "tool_ids"}};
    *b.request.mutable_chain() = AllowedCheck().chain();
    b.request.set_server_id("hr");
    b.request.add_tool_ids("hr.get_salary");
    filters.push_back(b);
  }
  {
    BadFilter b{
        "neither server_id nor tool_ids", {}, {"server_id", "tool_ids"}};
    *b.request.mutable_chain() = AllowedCheck().chain();
    filters.push_back(b);
  }
  {
    BadFilter b{"a filter with no chain", {}, {"chain.user_id"}};
    b.request.set_server_id("hr");
    filters.push_back(b);
  }
  for (const BadFilter& bad : filters) {
    v1::FilterToolsResponse response;
    grpc::Status s =
        stub->FilterTools(Deadline().get(), bad.request, &response);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << bad.what << ": " << Describe(s);
    for (const std::string& name : bad.names) {
      EXPECT_THAT(s.error_message(), HasSubstr(name)) << bad.what;
    }
    ExpectStillServing(bad.what);
  }
}

TEST_F(AuthorizerTest, OversizeRequestsAreRefused) {
  std::unique_ptr<v1::Authorizer::Stub> stub = StubFor(&env().gateway);
  v1::CheckRequest huge = AllowedCheck();
  huge.set_tool_id(std::string(kMaxMessageBytes + 1024, 'x'));
  ASSERT_GT(huge.ByteSizeLong(), static_cast<size_t>(kMaxMessageBytes));
  v1::CheckResponse response;
  grpc::Status status = stub->Check(Deadline().get(), huge, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << Describe(status);
  ExpectStillServing("an oversize Check");

  // Just under the limit is decoded, and refused for its over-long id
  // (limits.max_id_bytes), which it names without echoing.
  v1::CheckRequest big = AllowedCheck();
  big.set_tool_id(std::string(kMaxMessageBytes - 1024, 'x'));
  status = stub->Check(Deadline().get(), big, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << Describe(status);
  EXPECT_THAT(status.error_message(), HasSubstr("tool_id is"));
  EXPECT_LT(status.error_message().size(), 1024u);
  // An unknown tool of an allowed length is decided.
  big.set_tool_id(std::string(256, 'x'));
  status = stub->Check(Deadline().get(), big, &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(response.decision().effect(), v1::EFFECT_DENY);
}

TEST_F(AuthorizerTest, BatchAndFilterLimits) {
  std::unique_ptr<v1::Authorizer::Stub> stub = StubFor(&env().gateway);

  v1::BatchCheckRequest batch;
  for (int i = 0; i < kMaxBatchChecks; ++i)
    *batch.add_checks() = AllowedCheck();
  v1::BatchCheckResponse batch_response;
  grpc::Status status =
      stub->BatchCheck(Deadline().get(), batch, &batch_response);
  ASSERT_TRUE(status.ok()) << "at the limit: " << Describe(status);
  EXPECT_EQ(batch_response.decisions_size(), kMaxBatchChecks);

  *batch.add_checks() = AllowedCheck();
  status = stub->BatchCheck(Deadline().get(), batch, &batch_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << Describe(status);
  EXPECT_THAT(status.error_message(), HasSubstr("max_batch_checks"));
  ExpectStillServing("a BatchCheck over the limit");

  v1::FilterToolsRequest filter;
  *filter.mutable_chain() = AllowedCheck().chain();
  for (int i = 0; i < kMaxFilterTools; ++i) {
    filter.add_tool_ids(absl::StrCat("hr.tool_", i));
  }
  v1::FilterToolsResponse tools;
  status = stub->FilterTools(Deadline().get(), filter, &tools);
  ASSERT_TRUE(status.ok()) << "at the limit: " << Describe(status);

  filter.add_tool_ids("hr.get_salary");
  status = stub->FilterTools(Deadline().get(), filter, &tools);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << Describe(status);
  EXPECT_THAT(status.error_message(), HasSubstr("max_filter_tools"));
  ExpectStillServing("a FilterTools over the limit");
}

// The deadline has passed before the call is made. (Whether the client
// library or the server notices first, the caller must get
// DEADLINE_EXCEEDED and never a decision.)
TEST_F(AuthorizerTest, ExpiredDeadlines) {
  std::unique_ptr<v1::Authorizer::Stub> stub = StubFor(&env().gateway);
  v1::CheckResponse check;
  grpc::Status status =
      stub->Check(Deadline(-absl::Seconds(1)).get(), AllowedCheck(), &check);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << Describe(status);
  EXPECT_FALSE(check.has_decision());

  v1::BatchCheckRequest batch;
  *batch.add_checks() = AllowedCheck();
  v1::BatchCheckResponse batch_response;
  status = stub->BatchCheck(Deadline(-absl::Seconds(1)).get(), batch,
                            &batch_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << Describe(status);

  v1::FilterToolsRequest filter;
  *filter.mutable_chain() = AllowedCheck().chain();
  filter.set_server_id("hr");
  v1::FilterToolsResponse tools;
  status = stub->FilterTools(Deadline(-absl::Seconds(1)).get(), filter, &tools);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << Describe(status);
  ExpectStillServing("expired deadlines");
}

// Several callers at once, each on its own connection: every call is
// answered and every decision id is distinct.
TEST_F(AuthorizerTest, ConcurrentCallers) {
  constexpr int kThreads = 4;
  constexpr int kCalls = 100;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::unique_ptr<v1::Authorizer::Stub> stub = StubFor(&env().gateway);
      for (int i = 0; i < kCalls; ++i) {
        v1::CheckResponse response;
        if (stub->Check(Deadline().get(), AllowedCheck(), &response).ok() &&
            response.decision().effect() == v1::EFFECT_ALLOW) {
          ids[t].push_back(response.decision().decision_id());
        } else {
          ++failures[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(failures[t], 0) << "thread " << t;
    for (const std::string& id : ids[t]) ExpectNewId(id, "concurrent check");
  }
}

}  // namespace
}  // namespace servertest
}  // namespace pdp
