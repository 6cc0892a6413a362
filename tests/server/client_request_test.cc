// Authorizer.CheckClientRequest over real gRPC and mTLS, on the Acme policy:
// an allowed request and its granted scopes, each refusal with its reason
// and OAuth error, callers without the `check` permission, a missing
// client_id, and a server without a policy. Every answer is also compared
// with the engine's, in-process.

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pdp/client_request.h"
#include "pdp/compiler.h"
#include "pdp/server/config.h"
#include "pdp/server/server.h"
#include "pdp/snapshot.h"
#include "pdp/v1/authorizer.grpc.pb.h"
#include "tests/server/test_server.h"
#include "tests/testing/shared_env.h"
#include "tests/testing/test_certs.h"

namespace pdp {
namespace servertest {
namespace {

using testcerts::KeyAndCert;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kFilterOnly[] = "spiffe://acme.example/filter-only";
constexpr char kStranger[] = "spiffe://acme.example/stranger";
constexpr char kAcme[] = "examples/policies/acme";
// RFC 7636 appendix B.
constexpr char kChallenge[] = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
// claude-desktop's first registered redirect URI in the Acme policy.
constexpr char kDesktopCallback[] = "http://127.0.0.1:33418/callback";

struct Env {
  explicit Env(TestPki p) : pki(std::move(p)) {}

  TestPki pki;
  std::unique_ptr<server::PdpServer> server;
  std::unique_ptr<server::PdpServer> empty_server;  // Without a policy.
  std::shared_ptr<const Snapshot> snapshot;         // The same policy.
  KeyAndCert gateway, filter_only, stranger;
};

absl::StatusOr<std::unique_ptr<Env>> MakeEnv() {
  absl::StatusOr<TestPki> pki = TestPki::Create();
  if (!pki.ok()) return pki.status();
  auto env = std::make_unique<Env>(*std::move(pki));
  for (auto [out, spiffe] : std::vector<std::pair<KeyAndCert*, const char*>>{
           {&env->gateway, kGateway},
           {&env->filter_only, kFilterOnly},
           {&env->stranger, kStranger}}) {
    absl::StatusOr<KeyAndCert> cert = env->pki.Client(spiffe);
    if (!cert.ok()) return cert.status();
    *out = *std::move(cert);
  }
  server::ServerConfig config = env->pki.Config();
  config.callers.push_back({kFilterOnly, {server::Permission::kFilter}});
  absl::StatusOr<std::unique_ptr<server::PdpServer>> server =
      server::PdpServer::Start(config);
  if (!server.ok()) return server.status();
  env->server = *std::move(server);
  config.policy.clear();
  server = server::PdpServer::Start(config);
  if (!server.ok()) return server.status();
  env->empty_server = *std::move(server);

  absl::StatusOr<std::shared_ptr<const Snapshot>> snapshot =
      Compiler::CompileDirectory(kAcme);
  if (!snapshot.ok()) return snapshot.status();
  env->snapshot = *std::move(snapshot);
  return env;
}

class ClientRequestTest : public testenv::SharedEnvTest<Env, MakeEnv> {
 protected:

  static std::unique_ptr<v1::Authorizer::Stub> StubFor(
      const KeyAndCert* client, const server::PdpServer* server = nullptr) {
    if (server == nullptr) server = env().server.get();
    return v1::Authorizer::NewStub(
        MtlsChannel(server->port(), env().pki.ca().cert_pem(), client));
  }

  // A request Acme allows: claude-desktop from its loopback callback.
  static v1::CheckClientRequestRequest Good() {
    v1::CheckClientRequestRequest request;
    request.set_client_id("claude-desktop");
    request.set_redirect_uri(kDesktopCallback);
    request.add_scopes("deals:read");
    request.add_scopes("contacts:read");
    request.set_code_challenge(kChallenge);
    request.set_code_challenge_method("S256");
    return request;
  }

  // Asks the server as the gateway; the call must succeed and agree with
  // the engine.
  static v1::CheckClientRequestResponse Ask(
      const v1::CheckClientRequestRequest& request) {
    v1::CheckClientRequestResponse response;
    grpc::Status status =
        StubFor(&env().gateway)
            ->CheckClientRequest(Deadline().get(), request, &response);
    EXPECT_TRUE(status.ok()) << Describe(status);
    ExpectSameAsEngine(request, response);
    return response;
  }

  static void ExpectSameAsEngine(const v1::CheckClientRequestRequest& request,
                                 const v1::CheckClientRequestResponse& got) {
    ClientRequest engine_request;
    engine_request.client_id = request.client_id();
    engine_request.redirect_uri = request.redirect_uri();
    engine_request.scopes.assign(request.scopes().begin(),
                                 request.scopes().end());
    engine_request.code_challenge = request.code_challenge();
    engine_request.code_challenge_method = request.code_challenge_method();
    ClientRequestDecision want =
        CheckClientRequest(*env().snapshot, engine_request);
    EXPECT_EQ(got.allowed(), want.allowed);
    ASSERT_EQ(static_cast<size_t>(got.reasons_size()), want.reasons.size());
    for (size_t i = 0; i < want.reasons.size(); ++i) {
      const v1::Reason& g = got.reasons(static_cast<int>(i));
      EXPECT_EQ(g.link(), want.reasons[i].link);
      EXPECT_EQ(g.code(), want.reasons[i].code);
      EXPECT_EQ(g.message(), want.reasons[i].message);
      EXPECT_EQ(std::vector<std::string>(g.missing_scopes().begin(),
                                         g.missing_scopes().end()),
                want.reasons[i].missing_scopes);
    }
    EXPECT_EQ(std::vector<std::string>(got.granted_scopes().begin(),
                                       got.granted_scopes().end()),
              want.granted_scopes);
    EXPECT_EQ(got.oauth_error(), want.oauth_error);
    EXPECT_EQ(got.policy_version(), env().snapshot->version());
  }

  static std::vector<v1::Reason::Code> Codes(
      const v1::CheckClientRequestResponse& response) {
    std::vector<v1::Reason::Code> codes;
    for (const v1::Reason& reason : response.reasons()) {
      EXPECT_EQ(reason.link(), v1::LINK_CLIENT);
      codes.push_back(reason.code());
    }
    return codes;
  }
};

TEST_F(ClientRequestTest, AllowedWithTheRequestedScopes) {
  v1::CheckClientRequestResponse response = Ask(Good());
  EXPECT_TRUE(response.allowed());
  EXPECT_THAT(response.reasons(), IsEmpty());
  EXPECT_THAT(response.granted_scopes(),
              ElementsAre("contacts:read", "deals:read"));
  EXPECT_EQ(response.oauth_error(), "");
  EXPECT_EQ(response.policy_version(), env().snapshot->version());
}

TEST_F(ClientRequestTest, AllowedWithTheCeilingWhenNoScopesAreRequested) {
  v1::CheckClientRequestRequest request = Good();
  request.set_client_id("partner-integration");
  request.set_redirect_uri("https://app.partner.example/oauth/callback");
  request.clear_scopes();
  v1::CheckClientRequestResponse response = Ask(request);
  EXPECT_TRUE(response.allowed());
  EXPECT_THAT(response.granted_scopes(),
              ElementsAre("calendar:create", "calendar:read", "contacts:read"));
}

TEST_F(ClientRequestTest, UnregisteredClient) {
  v1::CheckClientRequestRequest request = Good();
  request.set_client_id("evil-desktop");
  v1::CheckClientRequestResponse response = Ask(request);
  EXPECT_FALSE(response.allowed());
  EXPECT_THAT(Codes(response), ElementsAre(v1::Reason::CLIENT_NOT_REGISTERED));
  EXPECT_EQ(response.oauth_error(), "unauthorized_client");
  EXPECT_THAT(response.granted_scopes(), IsEmpty());
}

TEST_F(ClientRequestTest, RedirectUriMismatch) {
  for (const char* uri : {"http://127.0.0.1:33419/callback",
                          "http://127.0.0.1:33418/callback/../evil",
                          "http://127.0.0.1:33418/callback?next=https://evil",
                          "http://127.0.0.1:33418/Callback",
                          "https://copilot.acme.example/oauth/callback", ""}) {
    v1::CheckClientRequestRequest request = Good();
    request.set_redirect_uri(uri);
    v1::CheckClientRequestResponse response = Ask(request);
    EXPECT_FALSE(response.allowed()) << uri;
    EXPECT_THAT(Codes(response), ElementsAre(v1::Reason::REDIRECT_URI_MISMATCH))
        << uri;
    EXPECT_EQ(response.oauth_error(), "invalid_request") << uri;
  }
}

TEST_F(ClientRequestTest, PkceRequired) {
  v1::CheckClientRequestRequest request = Good();
  request.set_code_challenge_method("plain");
  v1::CheckClientRequestResponse response = Ask(request);
  EXPECT_FALSE(response.allowed());
  EXPECT_THAT(Codes(response), ElementsAre(v1::Reason::PKCE_REQUIRED));
  EXPECT_EQ(response.oauth_error(), "invalid_request");

  request = Good();
  request.clear_code_challenge();
  EXPECT_THAT(Codes(Ask(request)), ElementsAre(v1::Reason::PKCE_REQUIRED));
}

TEST_F(ClientRequestTest, ScopeNotAllowed) {
  v1::CheckClientRequestRequest request = Good();
  request.add_scopes("emails:send");  // Not in claude-desktop's ceiling.
  request.add_scopes("no:such:scope");
  v1::CheckClientRequestResponse response = Ask(request);
  EXPECT_FALSE(response.allowed());
  ASSERT_THAT(Codes(response), ElementsAre(v1::Reason::SCOPE_NOT_ALLOWED));
  EXPECT_THAT(response.reasons(0).missing_scopes(),
              ElementsAre("emails:send", "no:such:scope"));
  EXPECT_EQ(response.oauth_error(), "invalid_scope");
  EXPECT_THAT(response.granted_scopes(), IsEmpty());
}

TEST_F(ClientRequestTest, EveryRefusalAtOnce) {
  v1::CheckClientRequestRequest request = Good();
  request.set_redirect_uri("https://evil.example/cb");
  request.set_code_challenge_method("plain");
  request.add_scopes("finance:approve");
  v1::CheckClientRequestResponse response = Ask(request);
  EXPECT_FALSE(response.allowed());
  EXPECT_THAT(Codes(response), ElementsAre(v1::Reason::REDIRECT_URI_MISMATCH,
                                           v1::Reason::PKCE_REQUIRED,
                                           v1::Reason::SCOPE_NOT_ALLOWED));
  EXPECT_EQ(response.oauth_error(), "invalid_request");
}

TEST_F(ClientRequestTest, EmptyClientIdIsInvalidArgument) {
  v1::CheckClientRequestRequest request = Good();
  request.clear_client_id();
  v1::CheckClientRequestResponse response;
  grpc::Status status =
      StubFor(&env().gateway)
          ->CheckClientRequest(Deadline().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << Describe(status);
  EXPECT_THAT(status.error_message(), HasSubstr("client_id"));
}

TEST_F(ClientRequestTest, CallersWithoutCheckAreRefused) {
  for (const KeyAndCert* caller : {&env().filter_only, &env().stranger}) {
    v1::CheckClientRequestResponse response;
    grpc::Status status = StubFor(caller)->CheckClientRequest(
        Deadline().get(), Good(), &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << Describe(status);
    EXPECT_THAT(status.error_message(), HasSubstr("\"check\""));
    EXPECT_FALSE(response.allowed());
  }
  // No client certificate: the TLS handshake itself fails.
  v1::CheckClientRequestResponse response;
  grpc::Status status = StubFor(nullptr)->CheckClientRequest(
      Deadline(absl::Seconds(5)).get(), Good(), &response);
  EXPECT_FALSE(status.ok());
  EXPECT_FALSE(response.allowed());
}

TEST_F(ClientRequestTest, WithoutAPolicyItIsUnavailable) {
  v1::CheckClientRequestResponse response;
  grpc::Status status =
      StubFor(&env().gateway, env().empty_server.get())
          ->CheckClientRequest(Deadline().get(), Good(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << Describe(status);
  EXPECT_FALSE(response.allowed());
}

}  // namespace
}  // namespace servertest
}  // namespace pdp
