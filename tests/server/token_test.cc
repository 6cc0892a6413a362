// Verified identity chains over real gRPC and mTLS: the server trusts an
// issuer whose JWK set (one key per algorithm, made at test time) sits in a
// token settings file, and callers send access, agent and service tokens
// instead of asserted ids.
//
// - A valid token of every algorithm decides exactly like the asserted chain.
// - Each token defect is a DENY with its reason code, never an RPC error, and
//   the token appears in neither the answer nor the decision log.
// - FilterTools honours the token's audience; BatchCheck names a malformed
//   entry; a server with no token settings refuses every token.

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pdp/names.h"
#include "pdp/server/config.h"
#include "pdp/server/server.h"
#include "pdp/token/testing/token_minter.h"
#include "pdp/token/thumbprint.h"
#include "pdp/v1/authorizer.grpc.pb.h"
#include "tests/server/test_server.h"
#include "tests/testing/test_certs.h"

namespace pdp {
namespace servertest {
namespace {

using ::nlohmann::json;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using token::JwsAlgorithm;
using token::TestSigningKey;

constexpr char kIssuer[] = "https://login.acme.example";
constexpr char kHr[] = "https://hr.mcp.acme.example";
constexpr char kCrm[] = "https://crm.mcp.acme.example";

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

std::vector<std::string> Codes(const v1::Decision& d) {
  std::vector<std::string> codes;
  for (const v1::Reason& r : d.reasons()) {
    codes.emplace_back(ReasonCodeName(r.code()));
  }
  return codes;
}

class TokenTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    keys_ = new std::vector<TestSigningKey>{
        TestSigningKey::Generate(JwsAlgorithm::kRs256, "rs"),
        TestSigningKey::Generate(JwsAlgorithm::kPs256, "ps"),
        TestSigningKey::Generate(JwsAlgorithm::kEs256, "es"),
        TestSigningKey::Generate(JwsAlgorithm::kEdDsa, "ed")};
  }
  static void TearDownTestSuite() { delete keys_; }

  void SetUp() override {
    absl::StatusOr<TestPki> pki = TestPki::Create();
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = std::make_unique<TestPki>(*std::move(pki));
    absl::StatusOr<testcerts::KeyAndCert> gateway = pki_->Client(kGateway);
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = *std::move(gateway);

    std::vector<const TestSigningKey*> keys;
    for (const TestSigningKey& key : *keys_) keys.push_back(&key);
    WriteFile(pki_->dir() + "/login-jwks.json", token::JwkSetJson(keys));
    WriteFile(pki_->dir() + "/tokens.yaml",
              absl::StrCat("clock_skew_seconds: 30\n"
                           "issuers:\n"
                           "  - issuer: ",
                           kIssuer, "\n    jwks_file: login-jwks.json\n"));
    log_path_ = pki_->dir() + "/decisions.jsonl";
  }

  void Start(bool with_tokens = true) {
    server::ServerConfig config = pki_->Config();
    if (with_tokens) config.tokens.settings = pki_->dir() + "/tokens.yaml";
    config.decision_log.path = log_path_;
    absl::StatusOr<std::unique_ptr<server::PdpServer>> server =
        server::PdpServer::Start(config);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = v1::Authorizer::NewStub(
        MtlsChannel(server_->port(), pki_->ca().cert_pem(), &gateway_));
  }

  // Alice's access token through acme-copilot for the hr server, 10 min.
  static json AccessClaims() {
    const int64_t now = absl::ToUnixSeconds(absl::Now());
    return {{"iss", kIssuer},
            {"sub", "alice@acme.example"},
            {"client_id", "acme-copilot"},
            {"scope", "hr:salary:read"},
            {"amr", {"pwd", "otp"}},
            {"aud", kHr},
            {"iat", now - 30},
            {"exp", now + 570}};
  }

  static v1::CheckRequest WithAccessToken(const std::string& token) {
    v1::CheckRequest request;
    request.mutable_chain()->set_access_token(token);
    request.set_tool_id("hr.get_salary");
    return request;
  }

  v1::Decision MustCheck(const v1::CheckRequest& request) {
    v1::CheckResponse response;
    grpc::Status status = stub_->Check(Deadline().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.decision();
  }

  static std::vector<TestSigningKey>* keys_;
  std::unique_ptr<TestPki> pki_;
  testcerts::KeyAndCert gateway_;
  std::string log_path_;
  std::unique_ptr<server::PdpServer> server_;
  std::unique_ptr<v1::Authorizer::Stub> stub_;
};

std::vector<TestSigningKey>* TokenTest::keys_ = nullptr;

TEST_F(TokenTest, EveryAlgorithmDecidesLikeTheAssertedChain) {
  Start();
  const v1::Decision asserted = MustCheck(AllowedCheck());
  ASSERT_EQ(asserted.effect(), v1::EFFECT_ALLOW);
  for (const TestSigningKey& key : *keys_) {
    const v1::Decision d =
        MustCheck(WithAccessToken(MintToken(key, AccessClaims())));
    EXPECT_EQ(d.effect(), asserted.effect()) << key.kid();
    EXPECT_THAT(Codes(d), IsEmpty()) << key.kid();
    EXPECT_THAT(d.redact(), testing::ElementsAreArray(asserted.redact()));
  }
  // Without amr, the same token asks for a step-up, as the asserted chain.
  json claims = AccessClaims();
  claims.erase("amr");
  EXPECT_EQ(MustCheck(WithAccessToken(MintToken((*keys_)[0], claims))).effect(),
            v1::EFFECT_STEP_UP);
}

TEST_F(TokenTest, EachDefectIsADenyWithItsReason) {
  Start();
  const TestSigningKey& rs = (*keys_)[0];
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  struct Case {
    std::string name;
    std::string token;
    std::string code;
  };
  std::vector<Case> cases;
  {
    std::string token = MintToken(rs, AccessClaims());
    token.back() = token.back() == 'A' ? 'B' : 'A';
    cases.push_back({"bad signature", token, "TOKEN_INVALID"});
  }
  cases.push_back({"alg none",
                   token::MintUnsigned({{"alg", "none"}, {"kid", "rs"}},
                                       AccessClaims(), ""),
                   "TOKEN_INVALID"});
  cases.push_back({"HS256 with the RSA public key as secret",
                   token::MintHs256(rs.PublicKeyPem(),
                                    {{"alg", "HS256"}, {"kid", "rs"}},
                                    AccessClaims()),
                   "TOKEN_INVALID"});
  {
    json claims = AccessClaims();
    claims["iss"] = "https://evil.example";
    cases.push_back({"wrong issuer", MintToken(rs, claims), "ISSUER_UNTRUSTED"});
  }
  {
    json claims = AccessClaims();
    claims["aud"] = kCrm;
    cases.push_back(
        {"wrong audience", MintToken(rs, claims), "TOKEN_AUDIENCE_MISMATCH"});
  }
  {
    json claims = AccessClaims();
    claims["iat"] = now - 1200;
    claims["exp"] = now - 600;
    cases.push_back({"expired", MintToken(rs, claims), "TOKEN_EXPIRED"});
  }
  {
    json claims = AccessClaims();
    claims["nbf"] = now + 600;
    cases.push_back({"not yet valid", MintToken(rs, claims), "TOKEN_INVALID"});
  }
  {
    json claims = AccessClaims();  // acme-copilot is internal: 1 h at most.
    claims["exp"] = now + 3 * 3600;
    cases.push_back(
        {"too long-lived", MintToken(rs, claims), "TOKEN_LIFETIME_TOO_LONG"});
  }
  cases.push_back({"unknown kid",
                   MintToken(rs, AccessClaims(), {{"kid", "retired"}}),
                   "TOKEN_INVALID"});
  {
    json claims = AccessClaims();
    claims["cnf"] = {{"x5t#S256", "bm90LXRoZS1wcmVzZW50ZWQtY2VydGlmaWNhdGU"}};
    cases.push_back(
        {"binding mismatch", MintToken(rs, claims), "TOKEN_BINDING_MISMATCH"});
  }
  cases.push_back({"malformed base64", "eyJhbGc!.e30.AAAA", "TOKEN_INVALID"});
  cases.push_back({"malformed JSON", token::SignParts(rs, "{\"alg\":", "{}"),
                   "TOKEN_INVALID"});
  cases.push_back({"huge header",
                   MintToken(rs, AccessClaims(),
                             {{"pad", std::string(20000, 'x')}}),
                   "TOKEN_INVALID"});

  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    v1::CheckResponse response;
    grpc::Status status =
        stub_->Check(Deadline().get(), WithAccessToken(c.token), &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.decision().effect(), v1::EFFECT_DENY);
    EXPECT_THAT(Codes(response.decision()), ElementsAre(c.code));
    EXPECT_EQ(response.decision().reasons(0).link(), v1::LINK_CLIENT);
    const std::string answer = response.SerializeAsString();
    EXPECT_THAT(answer, Not(HasSubstr(c.token.substr(c.token.size() - 16))));
  }

  // The server kept serving, and its decision log holds no token.
  EXPECT_EQ(MustCheck(AllowedCheck()).effect(), v1::EFFECT_ALLOW);
  server_->Shutdown(absl::Seconds(1));
  server_.reset();  // Drains the decision log.
  absl::StatusOr<std::string> log = ReadFile(log_path_);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_THAT(*log, HasSubstr("TOKEN_EXPIRED"));
  for (const Case& c : cases) {
    EXPECT_THAT(*log, Not(HasSubstr(c.token.substr(0, 40)))) << c.name;
  }
}

TEST_F(TokenTest, CertificateBoundTokens) {
  Start();
  // agent-worker is registered with require_bound_tokens.
  json claims = AccessClaims();
  claims["client_id"] = "agent-worker";
  claims["scope"] = "contacts:read";
  claims["aud"] = kCrm;
  v1::CheckRequest request = WithAccessToken(MintToken((*keys_)[2], claims));
  request.set_tool_id("crm.search_contacts");
  v1::Decision unbound = MustCheck(request);
  EXPECT_THAT(Codes(unbound), ElementsAre("TOKEN_BINDING_MISMATCH"));

  // Bound to the worker's certificate, which the enforcement point saw.
  absl::StatusOr<testcerts::KeyAndCert> worker =
      pki_->Client("spiffe://acme.example/agent-worker");
  ASSERT_TRUE(worker.ok());
  absl::StatusOr<std::string> thumbprint =
      token::CertificateThumbprint(worker->cert_pem);
  ASSERT_TRUE(thumbprint.ok()) << thumbprint.status();
  claims["cnf"] = {{"x5t#S256", *thumbprint}};
  request = WithAccessToken(MintToken((*keys_)[2], claims));
  request.set_tool_id("crm.search_contacts");
  request.mutable_chain()->mutable_binding()->set_client_certificate(
      worker->cert_pem);
  EXPECT_EQ(MustCheck(request).effect(), v1::EFFECT_ALLOW);

  // Presented with another certificate: refused.
  absl::StatusOr<testcerts::KeyAndCert> thief =
      pki_->Client("spiffe://acme.example/thief");
  ASSERT_TRUE(thief.ok());
  request.mutable_chain()->mutable_binding()->set_client_certificate(
      thief->cert_pem);
  EXPECT_THAT(Codes(MustCheck(request)), ElementsAre("TOKEN_BINDING_MISMATCH"));
}

TEST_F(TokenTest, FilterToolsHonoursTheAudience) {
  Start();
  v1::FilterToolsRequest asserted;
  *asserted.mutable_chain() = AllowedCheck().chain();
  asserted.set_server_id("hr");
  v1::FilterToolsResponse want;
  ASSERT_TRUE(stub_->FilterTools(Deadline().get(), asserted, &want).ok());
  ASSERT_GT(want.tools_size(), 0);

  v1::FilterToolsRequest request;
  request.mutable_chain()->set_access_token(
      MintToken((*keys_)[3], AccessClaims()));
  request.set_server_id("hr");
  v1::FilterToolsResponse got;
  ASSERT_TRUE(stub_->FilterTools(Deadline().get(), request, &got).ok());
  EXPECT_EQ(got.SerializeAsString(), want.SerializeAsString());

  request.set_server_id("crm");  // Not the token's audience.
  ASSERT_TRUE(stub_->FilterTools(Deadline().get(), request, &got).ok());
  EXPECT_THAT(got.tools(), IsEmpty());
}

TEST_F(TokenTest, ALinkGivenTwiceIsInvalidArgument) {
  Start();
  v1::BatchCheckRequest batch;
  *batch.add_checks() = AllowedCheck();
  v1::CheckRequest both = WithAccessToken(MintToken((*keys_)[0], AccessClaims()));
  both.mutable_chain()->set_user_id("mallory@acme.example");
  *batch.add_checks() = both;
  v1::BatchCheckResponse response;
  grpc::Status status = stub_->BatchCheck(Deadline().get(), batch, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              AllOf(HasSubstr("checks[1]"), HasSubstr("chain.user_id")));
}

TEST_F(TokenTest, NoTokenSettingsRefusesEveryToken) {
  Start(/*with_tokens=*/false);
  const v1::Decision d =
      MustCheck(WithAccessToken(MintToken((*keys_)[0], AccessClaims())));
  EXPECT_EQ(d.effect(), v1::EFFECT_DENY);
  EXPECT_THAT(Codes(d), ElementsAre("ISSUER_UNTRUSTED"));
}

}  // namespace
}  // namespace servertest
}  // namespace pdp
