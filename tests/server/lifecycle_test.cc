// The server's state over real gRPC and mTLS: health with and without a
// policy (and failing closed without one), the IP allowlist, and the
// decision log as it stands after the server has shut down.

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pdp/compiler.h"
#include "pdp/names.h"
#include "pdp/server/config.h"
#include "pdp/server/server.h"
#include "pdp/v1/authorizer.grpc.pb.h"
#include "tests/server/test_server.h"
#include "tests/testing/test_certs.h"

namespace pdp {
namespace servertest {
namespace {

using testcerts::KeyAndCert;
using ::testing::HasSubstr;

constexpr int kServing = 1;
constexpr int kNotServing = 2;
constexpr char kAcme[] = "examples/policies/acme";

class LifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TestPki> pki = TestPki::Create();
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = std::make_unique<TestPki>(*std::move(pki));
    absl::StatusOr<KeyAndCert> gateway = pki_->Client(kGateway);
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = *std::move(gateway);
  }

  std::unique_ptr<server::PdpServer> Start(const server::ServerConfig& config) {
    absl::StatusOr<std::unique_ptr<server::PdpServer>> server =
        server::PdpServer::Start(config);
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? *std::move(server) : nullptr;
  }

  std::shared_ptr<grpc::Channel> Channel(const server::PdpServer& server) {
    return MtlsChannel(server.port(), pki_->ca().cert_pem(), &gateway_);
  }

  std::unique_ptr<TestPki> pki_;
  KeyAndCert gateway_;
};

TEST_F(LifecycleTest, HealthIsServingWithAPolicy) {
  std::unique_ptr<server::PdpServer> server = Start(pki_->Config());
  ASSERT_NE(server, nullptr);
  absl::StatusOr<int> health = HealthCheck(Channel(*server));
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, kServing);
}

// Without a policy the server is up but NOT_SERVING, and every decision RPC
// fails closed with UNAVAILABLE; activating a policy makes it serve, and
// taking it away fails closed again.
TEST_F(LifecycleTest, WithoutAPolicyNothingIsDecided) {
  server::ServerConfig config = pki_->Config();
  config.policy.clear();
  std::unique_ptr<server::PdpServer> server = Start(config);
  ASSERT_NE(server, nullptr);
  std::shared_ptr<grpc::Channel> channel = Channel(*server);
  std::unique_ptr<v1::Authorizer::Stub> stub = v1::Authorizer::NewStub(channel);

  auto expect_fails_closed = [&](const std::string& when) {
    absl::StatusOr<int> health = HealthCheck(channel);
    ASSERT_TRUE(health.ok()) << when << ": " << health.status();
    EXPECT_EQ(*health, kNotServing) << when;

    v1::CheckResponse check;
    grpc::Status status = stub->Check(Deadline().get(), AllowedCheck(), &check);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
        << when << ": " << Describe(status);
    EXPECT_FALSE(check.has_decision()) << when;

    v1::BatchCheckRequest batch;
    *batch.add_checks() = AllowedCheck();
    v1::BatchCheckResponse batch_response;
    status = stub->BatchCheck(Deadline().get(), batch, &batch_response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
        << when << ": " << Describe(status);
    EXPECT_EQ(batch_response.decisions_size(), 0) << when;

    v1::FilterToolsRequest filter;
    *filter.mutable_chain() = AllowedCheck().chain();
    filter.set_server_id("hr");
    v1::FilterToolsResponse tools;
    status = stub->FilterTools(Deadline().get(), filter, &tools);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
        << when << ": " << Describe(status);
    EXPECT_EQ(tools.tools_size(), 0) << when;
  };
  expect_fails_closed("started without a policy");

  absl::StatusOr<std::shared_ptr<const Snapshot>> snapshot =
      Compiler::CompileDirectory(kAcme);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  server->Activate(*snapshot);

  absl::StatusOr<int> health = HealthCheck(channel);
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, kServing);
  v1::CheckResponse check;
  grpc::Status status = stub->Check(Deadline().get(), AllowedCheck(), &check);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(check.decision().effect(), v1::EFFECT_ALLOW);
  EXPECT_EQ(check.decision().policy_version(), (*snapshot)->version());

  server->Activate(nullptr);
  expect_fails_closed("after the policy was taken away");
}

TEST_F(LifecycleTest, IpAllowlistRejectsOtherPeers) {
  server::ServerConfig config = pki_->Config();
  config.ip_allowlist = {"10.0.0.0/8"};
  std::unique_ptr<server::PdpServer> server = Start(config);
  ASSERT_NE(server, nullptr);
  std::shared_ptr<grpc::Channel> channel = Channel(*server);
  std::unique_ptr<v1::Authorizer::Stub> stub = v1::Authorizer::NewStub(channel);

  v1::CheckResponse check;
  grpc::Status status = stub->Check(Deadline().get(), AllowedCheck(), &check);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << Describe(status);
  EXPECT_THAT(status.error_message(), HasSubstr("127.0.0.1"));
  EXPECT_FALSE(check.has_decision());

  v1::FilterToolsRequest filter;
  *filter.mutable_chain() = AllowedCheck().chain();
  filter.set_server_id("hr");
  v1::FilterToolsResponse tools;
  status = stub->FilterTools(Deadline().get(), filter, &tools);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << Describe(status);

  // The same caller from an allowed network is served.
  config.ip_allowlist = {"10.0.0.0/8", "127.0.0.0/8"};
  std::unique_ptr<server::PdpServer> open = Start(config);
  ASSERT_NE(open, nullptr);
  stub = v1::Authorizer::NewStub(Channel(*open));
  status = stub->Check(Deadline().get(), AllowedCheck(), &check);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(check.decision().effect(), v1::EFFECT_ALLOW);
}

// --- The decision log. ---

// Base64 runs of a PEM body, long enough not to occur by chance.
std::vector<std::string> PemChunks(const std::string& pem) {
  std::vector<std::string> chunks;
  for (absl::string_view line : absl::StrSplit(pem, '\n')) {
    if (line.size() >= 40 && !absl::StartsWith(line, "-----")) {
      chunks.emplace_back(line.substr(0, 40));
    }
  }
  return chunks;
}

TEST_F(LifecycleTest, DecisionLogHasOneLinePerDecisionAndNoSecrets) {
  constexpr char kSecretScope[] = "token-scope-7f3a9c2e-never-logged";
  constexpr char kSecretRole[] = "asserted-role-51b0d8-never-logged";
  constexpr char kTrusted[] = "spiffe://acme.example/trusted-gateway";
  absl::StatusOr<KeyAndCert> trusted = pki_->Client(kTrusted);
  ASSERT_TRUE(trusted.ok()) << trusted.status();

  const std::string log_path = absl::StrCat(pki_->dir(), "/decisions.jsonl");
  server::ServerConfig config = pki_->Config();
  config.decision_log.path = log_path;
  config.callers.push_back(
      {kTrusted,
       {server::Permission::kCheck, server::Permission::kFilter,
        server::Permission::kAssertRoles}});
  std::unique_ptr<server::PdpServer> server = Start(config);
  ASSERT_NE(server, nullptr);
  absl::StatusOr<std::shared_ptr<const Snapshot>> snapshot =
      Compiler::CompileDirectory(kAcme);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  const std::string version = (*snapshot)->version();

  std::unique_ptr<v1::Authorizer::Stub> gateway =
      v1::Authorizer::NewStub(Channel(*server));
  std::unique_ptr<v1::Authorizer::Stub> trusted_stub = v1::Authorizer::NewStub(
      MtlsChannel(server->port(), pki_->ca().cert_pem(), &*trusted));

  // What each logged decision must say, by decision id.
  struct Expected {
    std::string caller;
    v1::CheckRequest request;
    v1::Decision decision;
  };
  std::map<std::string, Expected> expected;

  // Checks of every effect, one carrying a secret scope and asserted role.
  std::vector<v1::CheckRequest> requests;
  requests.push_back(AllowedCheck());
  {
    v1::CheckRequest r = AllowedCheck();
    r.mutable_chain()->clear_amr();  // STEP_UP
    requests.push_back(r);
    r = AllowedCheck();
    r.set_tool_id("hr.no_such_tool");  // DENY
    r.set_action(v1::ACTION_SEE);
    requests.push_back(r);
    r = AllowedCheck();
    r.mutable_chain()->add_scopes(kSecretScope);
    requests.push_back(r);
    r = AllowedCheck();
    r.set_tool_id("hr.get_employee");  // DENY MISSING_SCOPE hr:read
    requests.push_back(r);
    r = AllowedCheck();
    r.mutable_chain()->set_user_id("mallory@acme.example");  // DENY RULE
    requests.push_back(r);
    v1::CheckRequest service;
    service.mutable_chain()->set_service_id("import-worker");
    service.set_tool_id("crm.import_contacts");
    requests.push_back(service);
  }
  const int kChecks = static_cast<int>(requests.size());
  for (const v1::CheckRequest& request : requests) {
    v1::CheckResponse response;
    grpc::Status status = gateway->Check(Deadline().get(), request, &response);
    ASSERT_TRUE(status.ok()) << Describe(status);
    expected[response.decision().decision_id()] = {kGateway, request,
                                                   response.decision()};
  }
  {
    v1::CheckRequest r = AllowedCheck();
    r.mutable_chain()->add_asserted_roles(kSecretRole);
    r.mutable_chain()->add_scopes(kSecretScope);
    v1::CheckResponse response;
    grpc::Status status = trusted_stub->Check(Deadline().get(), r, &response);
    ASSERT_TRUE(status.ok()) << Describe(status);
    expected[response.decision().decision_id()] = {kTrusted, r,
                                                   response.decision()};
  }

  v1::BatchCheckRequest batch;
  for (int i = 0; i < 3; ++i) *batch.add_checks() = requests[i];
  v1::BatchCheckResponse batch_response;
  grpc::Status status =
      gateway->BatchCheck(Deadline().get(), batch, &batch_response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  ASSERT_EQ(batch_response.decisions_size(), 3);
  for (int i = 0; i < 3; ++i) {
    expected[batch_response.decisions(i).decision_id()] = {
        kGateway, batch.checks(i), batch_response.decisions(i)};
  }

  v1::FilterToolsRequest filter;
  *filter.mutable_chain() = AllowedCheck().chain();
  filter.mutable_chain()->add_scopes(kSecretScope);
  filter.set_server_id("hr");
  v1::FilterToolsResponse tools;
  status = gateway->FilterTools(Deadline().get(), filter, &tools);
  ASSERT_TRUE(status.ok()) << Describe(status);
  ASSERT_GT(tools.tools_size(), 0);

  // Refused calls decide nothing and log nothing.
  v1::CheckRequest malformed = AllowedCheck();
  malformed.mutable_chain()->clear_client_id();
  v1::CheckResponse ignored;
  EXPECT_EQ(gateway->Check(Deadline().get(), malformed, &ignored).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  const size_t kDecisions = kChecks + 1 + 3 + 1;
  ASSERT_EQ(expected.size(), kDecisions - 1) << "decision ids must be unique";
  server->Shutdown(absl::Seconds(5));
  EXPECT_EQ(server->dropped_decisions(), 0u);
  server.reset();  // Drains the log.

  absl::StatusOr<std::string> content = ReadFile(log_path);
  ASSERT_TRUE(content.ok()) << content.status();
  ASSERT_TRUE(absl::EndsWith(*content, "\n")) << *content;
  std::vector<std::string> lines =
      absl::StrSplit(absl::StripSuffix(*content, "\n"), '\n');
  ASSERT_EQ(lines.size(), kDecisions) << *content;

  std::set<std::string> logged_ids;
  int filter_lines = 0;
  bool logged_rule = false, logged_missing_scope = false;
  for (const std::string& line : lines) {
    nlohmann::json json = nlohmann::json::parse(line, nullptr,
                                                /*allow_exceptions=*/false);
    ASSERT_FALSE(json.is_discarded()) << "not JSON: " << line;
    ASSERT_TRUE(json.is_object()) << line;
    for (const char* key :
         {"decision_id", "time", "caller", "action", "policy_version"}) {
      ASSERT_TRUE(json.contains(key) && json[key].is_string())
          << key << " in " << line;
    }
    ASSERT_TRUE(json.contains("chain") && json["chain"].is_object()) << line;
    ASSERT_TRUE(json.contains("reasons") && json["reasons"].is_array()) << line;
    ASSERT_TRUE(json.contains("redact") && json["redact"].is_array()) << line;
    ASSERT_TRUE(json.contains("latency_us") &&
                json["latency_us"].is_number_integer() &&
                json["latency_us"].get<int64_t>() >= 0)
        << line;
    const std::string id = json["decision_id"].get<std::string>();
    EXPECT_TRUE(logged_ids.insert(id).second) << "logged twice: " << line;
    EXPECT_THAT(json["time"].get<std::string>(),
                ::testing::MatchesRegex(
                    "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
                    "\\.[0-9]{6}Z"))
        << line;
    EXPECT_EQ(json["policy_version"], version) << line;

    if (json["action"] == "filter") {
      ++filter_lines;
      EXPECT_EQ(expected.count(id), 0u) << line;
      EXPECT_EQ(json["caller"], kGateway) << line;
      EXPECT_EQ(json["server"], "hr") << line;
      EXPECT_EQ(json["chain"]["user"], filter.chain().user_id()) << line;
      std::vector<std::string> visible;
      for (const v1::VisibleTool& tool : tools.tools()) {
        visible.push_back(tool.tool_id());
      }
      EXPECT_EQ(json["visible"], nlohmann::json(visible)) << line;
      continue;
    }
    auto it = expected.find(id);
    ASSERT_NE(it, expected.end()) << "no call answered this id: " << line;
    const Expected& want = it->second;
    EXPECT_EQ(json["caller"], want.caller) << line;
    EXPECT_EQ(json["tool"], want.request.tool_id()) << line;
    EXPECT_EQ(json["action"],
              want.request.action() == v1::ACTION_SEE ? "see" : "call")
        << line;
    EXPECT_EQ(json["effect"], std::string(EffectName(want.decision.effect())))
        << line;
    std::vector<std::string> redact(want.decision.redact().begin(),
                                    want.decision.redact().end());
    // Every reason with its link, code, rule id and missing scopes.
    nlohmann::json reasons = nlohmann::json::array();
    for (const v1::Reason& reason : want.decision.reasons()) {
      nlohmann::json one = {{"link", std::string(LinkName(reason.link()))},
                            {"code", std::string(ReasonCodeName(reason.code()))}};
      if (!reason.rule_id().empty()) one["rule_id"] = reason.rule_id();
      if (reason.missing_scopes_size() > 0) {
        one["missing_scopes"] = std::vector<std::string>(
            reason.missing_scopes().begin(), reason.missing_scopes().end());
      }
      reasons.push_back(std::move(one));
    }
    EXPECT_EQ(json["reasons"], reasons) << line;
    for (const nlohmann::json& reason : json["reasons"]) {
      if (reason["code"] == "RULE") {
        logged_rule = reason.value("rule_id", "") == "suspended-users";
      }
      if (reason["code"] == "MISSING_SCOPE") {
        logged_missing_scope = reason.contains("missing_scopes");
      }
    }
    EXPECT_EQ(json["redact"], nlohmann::json(redact)) << line;
    const v1::IdentityChain& chain = want.request.chain();
    if (!chain.service_id().empty()) {
      EXPECT_EQ(json["chain"]["service"], chain.service_id()) << line;
      EXPECT_FALSE(json["chain"].contains("user")) << line;
    } else {
      EXPECT_EQ(json["chain"]["user"], chain.user_id()) << line;
      EXPECT_EQ(json["chain"]["client"], chain.client_id()) << line;
    }
  }
  EXPECT_EQ(filter_lines, 1);
  EXPECT_TRUE(logged_rule) << "a RULE reason is logged with its rule id";
  EXPECT_TRUE(logged_missing_scope)
      << "a MISSING_SCOPE reason is logged with the missing scopes";
  for (const auto& [id, want] : expected) {
    EXPECT_EQ(logged_ids.count(id), 1u) << "decision " << id << " not logged";
  }

  // No secrets: no key or certificate material, no granted scopes, amr or
  // asserted roles (a reason's missing scopes are the policy's, and by
  // definition not granted).
  std::vector<std::string> secrets = {
      "BEGIN",     "PRIVATE KEY",    "CERTIFICATE", kSecretScope,
      kSecretRole, "hr:salary:read", "\"amr\"",     "\"scopes\""};
  const std::vector<const std::string*> pems = {
      &pki_->server().key_pem, &pki_->server().cert_pem, &pki_->ca().cert_pem(),
      &pki_->ca().key_pem(),   &gateway_.key_pem,        &gateway_.cert_pem,
      &trusted->key_pem,       &trusted->cert_pem};
  for (const std::string* pem : pems) {
    std::vector<std::string> chunks = PemChunks(*pem);
    ASSERT_FALSE(chunks.empty());
    secrets.insert(secrets.end(), chunks.begin(), chunks.end());
  }
  for (const std::string& secret : secrets) {
    EXPECT_EQ(content->find(secret), std::string::npos)
        << "the decision log holds \"" << secret << "\"";
  }
}

}  // namespace
}  // namespace servertest
}  // namespace pdp
