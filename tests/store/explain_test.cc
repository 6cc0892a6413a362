// PolicyAdmin.Explain against the real server (in process, mTLS, a RocksDB
// store, the Acme bundle pushed and signed): the decision is the Authorizer's
// and the lines name the granting role, its inheritance, the glob and the
// scopes with the policy's file:line; directory users count; only `explain`
// may ask (not `admin`: CI cannot read decisions); a chain given as tokens is verified and its token problems and
// audiences are explained.

#include <memory>
#include <string>
#include <vector>

#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "pdp/token/testing/token_minter.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pdp/v1/admin.grpc.pb.h"
#include "pdp/v1/authorizer.grpc.pb.h"
#include "pdp/v1/directory.grpc.pb.h"
#include "tests/server/test_server.h"
#include "tests/store/store_fixture.h"

namespace pdp {
namespace storetest {
namespace {

using servertest::AllowedCheck;
using servertest::Deadline;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The lines about `link`, indented by depth.
std::vector<std::string> Lines(const v1::ExplainResponse& response,
                               v1::Link link) {
  std::vector<std::string> lines;
  for (const v1::ExplainLine& line : response.lines()) {
    if (line.link() == link) {
      lines.push_back(
          absl::StrCat(std::string(2 * line.depth(), ' '), line.text()));
    }
  }
  return lines;
}

class ExplainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<StoreServer>> s = StoreServer::Create();
    ASSERT_TRUE(s.ok()) << s.status();
    s_ = *std::move(s);
    ASSERT_TRUE(s_->Start().ok());
  }

  void PushAcme(uint64_t version) {
    absl::StatusOr<v1::Bundle> bundle = AcmeBundle(version);
    ASSERT_TRUE(bundle.ok()) << bundle.status();
    grpc::Status pushed = s_->PushBundle(*bundle);
    ASSERT_TRUE(pushed.ok()) << Describe(pushed);
  }

  grpc::Status Explain(const v1::ExplainRequest& request,
                       v1::ExplainResponse* response,
                       v1::PolicyAdmin::Stub* stub = nullptr) {
    return (stub != nullptr ? *stub : s_->explainer())
        .Explain(Deadline().get(), request, response);
  }

  static v1::ExplainRequest Ask(v1::CheckRequest check,
                                std::string source_dir = "") {
    v1::ExplainRequest request;
    *request.mutable_check() = std::move(check);
    request.set_source_dir(std::move(source_dir));
    return request;
  }

  std::unique_ptr<StoreServer> s_;
};

TEST_F(ExplainTest, ExplainsTheAuthorizersDecisionLinkByLink) {
  PushAcme(3);
  v1::ExplainResponse response;
  grpc::Status status = Explain(Ask(AllowedCheck()), &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  // The same decision the Authorizer makes.
  absl::StatusOr<v1::Decision> checked =
      CheckDecision(s_->authorizer(), AllowedCheck());
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_EQ(response.decision().effect(), v1::EFFECT_ALLOW);
  EXPECT_EQ(response.decision().effect(), checked->effect());
  EXPECT_THAT(response.decision().redact(),
              ::testing::ElementsAreArray(checked->redact()));
  EXPECT_EQ(response.policy_version(), "3");
  EXPECT_EQ(response.decision().policy_version(), "3");

  EXPECT_THAT(Lines(response, v1::LINK_TOOL),
              ElementsAre(HasSubstr("tool hr.get_salary (tools.yaml:151): "
                                    "scopes hr:salary:read; data pii, "
                                    "salary; risk high")));
  EXPECT_THAT(Lines(response, v1::LINK_USER),
              ElementsAre("user alice@acme.example (users.yaml:5): roles "
                          "executive",
                          "  granted by role executive (roles.yaml:56): glob "
                          "\"hr.get_salary\" (roles.yaml:60)"));
  EXPECT_THAT(Lines(response, v1::LINK_CLIENT),
              Contains("  tool scopes in the token: hr:salary:read; not: "
                       "none"));
  EXPECT_THAT(Lines(response, v1::LINK_UNSPECIFIED),
              Contains("auth: the session has mfa; the tool requires mfa"));
}

TEST_F(ExplainTest, NamesTheInheritancePathTheGlobAndTheSourceDir) {
  PushAcme(1);
  v1::CheckRequest check = AllowedCheck();
  check.set_tool_id("crm.search_contacts");
  v1::ExplainResponse response;
  grpc::Status status =
      Explain(Ask(check, "examples/policies/acme"), &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_THAT(Lines(response, v1::LINK_USER),
              Contains("  granted by role sales "
                       "(examples/policies/acme/roles.yaml:50) inherited via "
                       "executive -> sales: glob \"crm.*\" "
                       "(examples/policies/acme/roles.yaml:52)"));
  // The token lacks the tool's scope: the decision and the lines say so.
  EXPECT_EQ(response.decision().effect(), v1::EFFECT_DENY);
  EXPECT_THAT(Lines(response, v1::LINK_CLIENT),
              Contains(HasSubstr("tool scopes in the token: none; not: ")));
}

TEST_F(ExplainTest, DirectoryUsersAreExplainedAsTheAuthorizerSeesThem) {
  PushAcme(1);
  v1::UpsertUsersRequest upsert;
  *upsert.add_users() = MakeUser("zed@acme.example", {"executive"});
  v1::UpsertUsersResponse upserted;
  grpc::Status status =
      s_->directory().UpsertUsers(Deadline().get(), upsert, &upserted);
  ASSERT_TRUE(status.ok()) << Describe(status);
  v1::CheckRequest check = AllowedCheck();
  check.mutable_chain()->set_user_id("zed@acme.example");
  v1::ExplainResponse response;
  status = Explain(Ask(check), &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(response.decision().effect(), v1::EFFECT_ALLOW);
  EXPECT_THAT(Lines(response, v1::LINK_USER),
              ElementsAre("user zed@acme.example (the directory): roles "
                          "executive",
                          "  granted by role executive (roles.yaml:56): glob "
                          "\"hr.get_salary\" (roles.yaml:60)"));
}

TEST_F(ExplainTest, OnlyExplainMayAskAndOnlyWithAPolicy) {
  v1::ExplainResponse response;
  grpc::Status status = Explain(Ask(AllowedCheck()), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << Describe(status);

  PushAcme(1);
  // The gateway may check, not explain.
  auto gateway = v1::PolicyAdmin::NewStub(s_->gateway());
  status = Explain(Ask(AllowedCheck()), &response, gateway.get());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << Describe(status);
  EXPECT_THAT(status.error_message(), HasSubstr("\"explain\" permission"));
  // CI (admin: push, activate, status) cannot read decisions either.
  auto ci = v1::PolicyAdmin::NewStub(s_->ci());
  status = Explain(Ask(AllowedCheck()), &response, ci.get());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << Describe(status);
  EXPECT_THAT(status.error_message(), HasSubstr("\"explain\" permission"));
  EXPECT_THAT(status.error_message(), HasSubstr(kCi));
  // The operator, granted `explain`, gets the explanation.
  status = Explain(Ask(AllowedCheck()), &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(response.decision().effect(), v1::EFFECT_ALLOW);
  EXPECT_FALSE(response.lines().empty());

  // A malformed chain is the caller's error, as for Check.
  v1::CheckRequest bad = AllowedCheck();
  bad.mutable_chain()->set_service_id("import-worker");
  status = Explain(Ask(bad), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << Describe(status);
}

TEST_F(ExplainTest, ExplainsChainsGivenAsTokens) {
  const token::TestSigningKey key =
      token::TestSigningKey::Generate(token::JwsAlgorithm::kEs256, "k1");
  const std::string dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/tokens");
  ASSERT_EQ(std::system(absl::StrCat("mkdir -p ", dir).c_str()), 0);
  std::ofstream(dir + "/tokens.yaml")
      << "issuers:\n  - issuer: https://login.acme.example\n    jwks: "
      << token::JwkSetJson({&key}) << "\n";
  server::ServerConfig config = s_->Config();
  config.tokens.settings = dir + "/tokens.yaml";
  ASSERT_TRUE(s_->Start(config).ok());
  PushAcme(1);

  const int64_t now = absl::ToUnixSeconds(absl::Now());
  nlohmann::json claims = {{"iss", "https://login.acme.example"},
                           {"sub", "alice@acme.example"},
                           {"client_id", "acme-copilot"},
                           {"scope", "hr:salary:read"},
                           {"amr", {"otp"}},
                           {"aud", "https://hr.mcp.acme.example"},
                           {"iat", now},
                           {"exp", now + 600}};
  v1::CheckRequest check;
  check.set_tool_id("hr.get_salary");
  check.mutable_chain()->set_access_token(token::MintToken(key, claims));
  v1::ExplainResponse response;
  grpc::Status status = Explain(Ask(check), &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(response.decision().effect(), v1::EFFECT_ALLOW);
  EXPECT_THAT(Lines(response, v1::LINK_CLIENT),
              Contains(HasSubstr("audience https://hr.mcp.acme.example")));
  EXPECT_THAT(Lines(response, v1::LINK_USER),
              Contains(HasSubstr("alice@acme.example")));

  claims["iat"] = now - 1200;
  claims["exp"] = now - 600;
  check.mutable_chain()->set_access_token(token::MintToken(key, claims));
  status = Explain(Ask(check), &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(response.decision().effect(), v1::EFFECT_DENY);
  EXPECT_THAT(Lines(response, v1::LINK_CLIENT),
              Contains(HasSubstr("token: TOKEN_EXPIRED")));
}

}  // namespace
}  // namespace storetest
}  // namespace pdp
