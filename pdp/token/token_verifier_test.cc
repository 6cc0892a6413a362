#include "pdp/token/token_verifier.h"

#include <atomic>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pdp/token/base64url.h"
#include "pdp/token/testing/token_minter.h"

namespace pdp {
namespace token {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;

constexpr char kIssuer[] = "https://auth.acme.example";
constexpr char kAgentIssuer[] = "https://agents.acme.example";
constexpr int64_t kNow = 1795000000;  // 2026-11-18T...Z

absl::Time Now() { return absl::FromUnixSeconds(kNow); }

// A token's parts: header, payload, signature (still encoded).
std::vector<std::string> Parts(const std::string& token) {
  return absl::StrSplit(token, '.');
}

std::string Join(const std::vector<std::string>& parts) {
  return absl::StrJoin(parts, ".");
}

class TokenVerifierTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rs_ = new TestSigningKey(
        TestSigningKey::Generate(JwsAlgorithm::kRs256, "rs1"));
    ps_ = new TestSigningKey(
        TestSigningKey::Generate(JwsAlgorithm::kPs256, "ps1"));
    es_ = new TestSigningKey(
        TestSigningKey::Generate(JwsAlgorithm::kEs256, "es1"));
    ed_ = new TestSigningKey(
        TestSigningKey::Generate(JwsAlgorithm::kEdDsa, "ed1"));
    agent_ = new TestSigningKey(
        TestSigningKey::Generate(JwsAlgorithm::kEdDsa, "agent1"));
    outsider_ = new TestSigningKey(
        TestSigningKey::Generate(JwsAlgorithm::kRs256, "rs1"));
  }

  static std::vector<const TestSigningKey*> AllKeys() {
    return {rs_, ps_, es_, ed_};
  }

  static std::vector<TrustedIssuer> Issuers() {
    std::vector<TrustedIssuer> issuers;
    issuers.push_back(
        {kIssuer, *JwkSet::Parse(JwkSetJson({rs_, ps_, es_, ed_}))});
    issuers.push_back({kAgentIssuer, *JwkSet::Parse(JwkSetJson({agent_}))});
    return issuers;
  }

  static Json Claims() {
    return {{"iss", kIssuer},
            {"sub", "alice"},
            {"client_id", "crm-app"},
            {"azp", "other-app"},
            {"scope", "crm.read  crm.write"},
            {"amr", {"pwd", "mfa"}},
            {"acr", "urn:acme:loa:2"},
            {"act", {{"sub", "agent-7"}, {"act", {{"sub", "agent-1"}}}}},
            {"aud", {"https://mcp.acme.example/crm", "https://other"}},
            {"iat", kNow - 10},
            {"nbf", kNow - 10},
            {"exp", kNow + 300},
            {"jti", "token-1"},
            {"cnf",
             {{"x5t#S256", "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"},
              {"jkt", "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}}};
  }

  static Json With(Json claims, const std::string& name, Json value) {
    claims[name] = std::move(value);
    return claims;
  }

  // Claims of a token issued 10 minutes before `exp`.
  static Json ExpiringAt(int64_t exp) {
    return With(With(Without(Claims(), "nbf"), "exp", exp), "iat", exp - 600);
  }

  static Json Without(Json claims, const std::string& name) {
    claims.erase(name);
    return claims;
  }

  void SetUp() override { verifier_.SetIssuers(Issuers()); }

  // Expects `token` to be refused with `code` and a message containing
  // `fragment` that does not contain the token or its signature.
  void ExpectRejected(const std::string& token, v1::Reason::Code code,
                      const std::string& fragment,
                      absl::Time now = Now()) const {
    const TokenVerifier::Result result = verifier_.Verify(token, now);
    EXPECT_FALSE(result.ok()) << fragment;
    EXPECT_EQ(result.token, nullptr);
    EXPECT_EQ(result.rejection.code, code)
        << v1::Reason::Code_Name(result.rejection.code) << ": "
        << result.rejection.message;
    EXPECT_THAT(result.rejection.message, HasSubstr(fragment));
    ExpectSafeMessage(token, result.rejection.message);
  }

  static void ExpectSafeMessage(const std::string& token,
                                const std::string& message) {
    EXPECT_LE(message.size(), 400u) << message;
    if (token.size() >= 16) {
      EXPECT_THAT(message, Not(HasSubstr(token)));
    }
    const std::vector<std::string> parts = Parts(token);
    for (const std::string& part : parts) {
      if (part.size() >= 16) {
        EXPECT_THAT(message, Not(HasSubstr(part.substr(0, 16))));
      }
    }
    for (char c : message) {
      EXPECT_TRUE(c >= 0x20 && c <= 0x7e) << message;
    }
  }

  static TestSigningKey* rs_;
  static TestSigningKey* ps_;
  static TestSigningKey* es_;
  static TestSigningKey* ed_;
  static TestSigningKey* agent_;
  static TestSigningKey* outsider_;  // Not trusted, same kid as rs_.

  TokenVerifier verifier_;
};

TestSigningKey* TokenVerifierTest::rs_ = nullptr;
TestSigningKey* TokenVerifierTest::ps_ = nullptr;
TestSigningKey* TokenVerifierTest::es_ = nullptr;
TestSigningKey* TokenVerifierTest::ed_ = nullptr;
TestSigningKey* TokenVerifierTest::agent_ = nullptr;
TestSigningKey* TokenVerifierTest::outsider_ = nullptr;

TEST_F(TokenVerifierTest, EachAlgorithmVerifiesAndYieldsEveryClaim) {
  for (const TestSigningKey* key : AllKeys()) {
    SCOPED_TRACE(key->kid());
    const std::string token = MintToken(*key, Claims());
    const TokenVerifier::Result result = verifier_.Verify(token, Now());
    ASSERT_TRUE(result.ok()) << result.rejection.message;
    EXPECT_EQ(result.rejection.code, v1::Reason::CODE_UNSPECIFIED);
    const VerifiedToken& t = *result.token;
    EXPECT_EQ(t.issuer, kIssuer);
    EXPECT_EQ(t.subject, "alice");
    EXPECT_EQ(t.client_id, "crm-app");
    EXPECT_THAT(t.scopes, ElementsAre("crm.read", "crm.write"));
    EXPECT_THAT(t.amr, ElementsAre("pwd", "mfa"));
    EXPECT_EQ(t.acr, "urn:acme:loa:2");
    EXPECT_THAT(t.actors, ElementsAre("agent-7", "agent-1"));
    EXPECT_FALSE(t.has_idp_roles);
    EXPECT_THAT(t.audiences,
                ElementsAre("https://mcp.acme.example/crm", "https://other"));
    EXPECT_EQ(t.issued_at, absl::FromUnixSeconds(kNow - 10));
    EXPECT_EQ(t.not_before, absl::FromUnixSeconds(kNow - 10));
    EXPECT_EQ(t.expires_at, absl::FromUnixSeconds(kNow + 300));
    EXPECT_EQ(t.cnf_x5t_s256, "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2");
    EXPECT_EQ(t.cnf_jkt, "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
    EXPECT_EQ(t.jwt_id, "token-1");
  }
}

TEST_F(TokenVerifierTest, MinimalTokenHasEmptyOptionalClaims) {
  const Json claims = {{"iss", kAgentIssuer},
                       {"sub", "agent-7"},
                       {"iat", kNow},
                       {"exp", kNow + 60}};
  const TokenVerifier::Result result =
      verifier_.Verify(MintToken(*agent_, claims), Now());
  ASSERT_TRUE(result.ok()) << result.rejection.message;
  const VerifiedToken& t = *result.token;
  EXPECT_EQ(t.issuer, kAgentIssuer);
  EXPECT_EQ(t.subject, "agent-7");
  EXPECT_EQ(t.client_id, "");
  EXPECT_TRUE(t.scopes.empty());
  EXPECT_TRUE(t.amr.empty());
  EXPECT_TRUE(t.audiences.empty());
  EXPECT_TRUE(t.actors.empty());
  EXPECT_EQ(t.not_before, absl::InfinitePast());
  EXPECT_EQ(t.cnf_x5t_s256, "");
  EXPECT_EQ(t.cnf_jkt, "");
}

// RFC 8693 §4.1: each nested act names the actor before; every hop is read,
// and absurd nesting is refused.
TEST_F(TokenVerifierTest, EveryHopOfANestedActIsRead) {
  Json act = {{"sub", "hop-40"}};
  for (int i = 39; i >= 1; --i) {
    act = {{"sub", absl::StrCat("hop-", i)}, {"act", act}};
  }
  const TokenVerifier::Result result =
      verifier_.Verify(MintToken(*rs_, With(Claims(), "act", act)), Now());
  ASSERT_TRUE(result.ok()) << result.rejection.message;
  ASSERT_EQ(result.token->actors.size(), 40u);
  EXPECT_EQ(result.token->actors.front(), "hop-1");
  EXPECT_EQ(result.token->actors.back(), "hop-40");

  Json deep = {{"sub", "last"}};
  for (int i = 0; i < kMaxActClaimDepth; ++i) {
    deep = {{"sub", "hop"}, {"act", deep}};
  }
  ExpectRejected(MintToken(*rs_, With(Claims(), "act", deep)),
                 v1::Reason::TOKEN_INVALID, "nest more than 64 deep");
  ExpectRejected(
      MintToken(*rs_, With(Claims(), "act", {{"sub", "a"}, {"act", "b"}})),
      v1::Reason::TOKEN_INVALID, "\"act\" claim is not an object");
  ExpectRejected(MintToken(*rs_, With(Claims(), "act",
                                      {{"sub", "a"}, {"act", {{"x", 1}}}})),
                 v1::Reason::TOKEN_INVALID, "has no non-empty string \"sub\"");
}

// A member named twice is read last-wins by some parsers and first-wins by
// others: a token that would mean two things is refused, in the header and
// in the claims, at any depth.
TEST_F(TokenVerifierTest, DuplicateMemberNamesAreRefused) {
  const std::string header = R"({"alg":"RS256","kid":"rs1","typ":"JWT"})";
  const std::string claims = absl::StrCat(
      R"({"iss":"https://auth.acme.example","client_id":"crm-app","iat":)",
      kNow - 10, R"(,"exp":)", kNow + 300);
  // The same bytes without a duplicate verify.
  ASSERT_TRUE(verifier_
                  .Verify(SignParts(*rs_, header,
                                    claims + R"(,"sub":"alice"})"),
                          Now())
                  .ok());
  ExpectRejected(
      SignParts(*rs_, header, claims + R"(,"sub":"alice","sub":"admin"})"),
      v1::Reason::TOKEN_INVALID, "names the member \"sub\" twice");
  ExpectRejected(
      SignParts(*rs_, header,
                absl::StrCat(claims, R"(,"sub":"alice","exp":)", kNow - 1000,
                             "}")),
      v1::Reason::TOKEN_INVALID, "payload names the member \"exp\" twice");
  ExpectRejected(
      SignParts(*rs_, R"({"alg":"none","alg":"RS256","kid":"rs1"})",
                claims + R"(,"sub":"alice"})"),
      v1::Reason::TOKEN_INVALID, "header names the member \"alg\" twice");
  ExpectRejected(
      SignParts(*rs_, header,
                claims + R"(,"sub":"alice","act":{"sub":"a","sub":"b"}})"),
      v1::Reason::TOKEN_INVALID, "names the member \"sub\" twice");
  // The same name in two different objects is no duplicate.
  EXPECT_TRUE(
      verifier_
          .Verify(SignParts(*rs_, header,
                            claims + R"(,"sub":"alice","act":{"sub":"a"}})"),
                  Now())
          .ok());
}

// An issuer that carries roles: its groups claim maps to policy roles;
// groups with no mapping grant nothing and are listed.
TEST_F(TokenVerifierTest, RolesClaimMapsGroupsToPolicyRoles) {
  std::vector<TrustedIssuer> issuers = Issuers();
  issuers[0].roles_claim = "groups";
  issuers[0].roles = {{"Sales-Team", {"sales"}},
                      {"Execs", {"executive", "sales"}}};
  TokenVerifier verifier;
  verifier.SetIssuers(issuers);
  TokenVerifier::Result result = verifier.Verify(
      MintToken(*rs_, With(Claims(), "groups", {"Execs", "Sales-Team",
                                                "Everyone"})),
      Now());
  ASSERT_TRUE(result.ok()) << result.rejection.message;
  EXPECT_TRUE(result.token->has_idp_roles);
  EXPECT_THAT(result.token->roles, ElementsAre("executive", "sales"));
  EXPECT_THAT(result.token->unmapped_groups, ElementsAre("Everyone"));

  // No claim: the provider says the user is in no group.
  result = verifier.Verify(MintToken(*rs_, Claims()), Now());
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result.token->has_idp_roles);
  EXPECT_TRUE(result.token->roles.empty());

  result = verifier.Verify(MintToken(*rs_, With(Claims(), "groups", 7)), Now());
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(result.rejection.message, HasSubstr("\"groups\" claim is not"));
}

TEST_F(TokenVerifierTest, ClientIdFallsBackToAzpAndAudMayBeAString) {
  Json claims = Without(Claims(), "client_id");
  claims["aud"] = "https://mcp.acme.example/crm";
  const TokenVerifier::Result result =
      verifier_.Verify(MintToken(*es_, claims), Now());
  ASSERT_TRUE(result.ok()) << result.rejection.message;
  EXPECT_EQ(result.token->client_id, "other-app");
  EXPECT_THAT(result.token->audiences,
              ElementsAre("https://mcp.acme.example/crm"));
}

TEST_F(TokenVerifierTest, FractionalNumericDates) {
  const Json claims =
      With(With(Claims(), "exp", kNow + 30.5), "iat", kNow - 0.25);
  const TokenVerifier::Result result =
      verifier_.Verify(MintToken(*ed_, claims), Now());
  ASSERT_TRUE(result.ok()) << result.rejection.message;
  EXPECT_EQ(result.token->expires_at,
            absl::FromUnixSeconds(kNow + 30) + absl::Milliseconds(500));
  EXPECT_EQ(result.token->issued_at,
            absl::FromUnixSeconds(kNow) - absl::Milliseconds(250));
}

TEST_F(TokenVerifierTest, AcceptedTypes) {
  for (const char* typ : {"JWT", "jwt", "at+jwt", "AT+JWT",
                          "application/at+jwt", "application/jwt"}) {
    EXPECT_TRUE(
        verifier_.Verify(MintToken(*rs_, Claims(), {{"typ", typ}}), Now()).ok())
        << typ;
  }
  EXPECT_TRUE(
      verifier_.Verify(MintToken(*rs_, Claims(), {{"typ", nullptr}}), Now())
          .ok());
  ExpectRejected(MintToken(*rs_, Claims(), {{"typ", "JOSE"}}),
                 v1::Reason::TOKEN_INVALID, "type (typ) \"JOSE\"");
  ExpectRejected(MintToken(*rs_, Claims(), {{"typ", "dpop+jwt"}}),
                 v1::Reason::TOKEN_INVALID, "type (typ) \"dpop+jwt\"");
  ExpectRejected(MintToken(*rs_, Claims(), {{"typ", 1}}),
                 v1::Reason::TOKEN_INVALID, "type (typ) is not a string");
}

TEST_F(TokenVerifierTest, BadSignature) {
  for (const TestSigningKey* key : AllKeys()) {
    SCOPED_TRACE(key->kid());
    std::vector<std::string> parts = Parts(MintToken(*key, Claims()));
    std::string signature = *Base64UrlDecode(parts[2]);
    for (size_t index :
         {size_t{0}, signature.size() / 2, signature.size() - 1}) {
      std::string flipped = signature;
      flipped[index] ^= 0x40;
      parts[2] = Base64UrlEncode(flipped);
      ExpectRejected(Join(parts), v1::Reason::TOKEN_INVALID,
                     absl::StrCat("signature does not verify with key \"",
                                  key->kid(), "\" of issuer \"", kIssuer, "\""));
    }
  }
}

TEST_F(TokenVerifierTest, ChangedPayloadDoesNotVerify) {
  std::vector<std::string> parts = Parts(MintToken(*rs_, Claims()));
  parts[1] = Base64UrlEncode(With(Claims(), "sub", "mallory").dump());
  ExpectRejected(Join(parts), v1::Reason::TOKEN_INVALID,
                 "signature does not verify");
  // Signed by an untrusted key that has a trusted key's kid, and embedding
  // itself as "jwk": embedded keys are never used.
  ExpectRejected(MintToken(*outsider_, Claims(),
                           {{"jwk", Json::parse(outsider_->JwkJson())},
                            {"jku", "https://evil.example/jwks"}}),
                 v1::Reason::TOKEN_INVALID,
                 "signature does not verify with key \"rs1\"");
}

TEST_F(TokenVerifierTest, AlgNoneIsRefused) {
  for (const char* alg : {"none", "None", "NONE"}) {
    ExpectRejected(MintUnsigned({{"alg", alg}, {"kid", "rs1"}, {"typ", "JWT"}},
                                Claims(), ""),
                   v1::Reason::TOKEN_INVALID,
                   absl::StrCat("algorithm (alg) \"", alg, "\" is not accepted"));
  }
  // With a (copied) valid signature too.
  const std::string signature =
      *Base64UrlDecode(Parts(MintToken(*rs_, Claims()))[2]);
  ExpectRejected(
      MintUnsigned({{"alg", "none"}, {"kid", "rs1"}}, Claims(), signature),
      v1::Reason::TOKEN_INVALID, "\"none\" is not accepted");
  ExpectRejected(MintUnsigned({{"kid", "rs1"}}, Claims(), signature),
                 v1::Reason::TOKEN_INVALID, "no algorithm (alg)");
}

TEST_F(TokenVerifierTest, Hs256WithThePublicKeyAsSecretIsRefused) {
  for (const std::string& secret :
       {rs_->PublicKeyPem(), rs_->JwkJson(), es_->PublicKeyPem()}) {
    for (const char* kid : {"rs1", "es1"}) {
      ExpectRejected(
          MintHs256(secret, {{"alg", "HS256"}, {"kid", kid}}, Claims()),
          v1::Reason::TOKEN_INVALID, "algorithm (alg) \"HS256\" is not accepted");
    }
  }
}

TEST_F(TokenVerifierTest, AlgorithmMustBeTheKeys) {
  // An RS256 token presented with the PS256 key's kid (and vice versa).
  ExpectRejected(MintToken(*rs_, Claims(), {{"kid", "ps1"}}),
                 v1::Reason::TOKEN_INVALID,
                 "algorithm RS256 is not the algorithm of key \"ps1\" of issuer "
                 "\"https://auth.acme.example\" (PS256)");
  ExpectRejected(MintToken(*ps_, Claims(), {{"kid", "rs1"}}),
                 v1::Reason::TOKEN_INVALID, "not the algorithm of key \"rs1\"");
  ExpectRejected(MintToken(*es_, Claims(), {{"kid", "ed1"}}),
                 v1::Reason::TOKEN_INVALID, "not the algorithm of key \"ed1\"");
  // A valid PSS signature by an RSA key that the issuer declares RS256.
  Json jwk = Json::parse(ps_->JwkJson());
  jwk["alg"] = "RS256";
  TokenVerifier verifier;
  verifier.SetIssuers(
      {{kIssuer, *JwkSet::Parse(Json({{"keys", {jwk}}}).dump())}});
  const TokenVerifier::Result result =
      verifier.Verify(MintToken(*ps_, Claims()), Now());
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(result.rejection.message,
              HasSubstr("algorithm PS256 is not the algorithm of key \"ps1\""));
}

TEST_F(TokenVerifierTest, UntrustedIssuer) {
  ExpectRejected(MintToken(*rs_, With(Claims(), "iss", "https://evil.example")),
                 v1::Reason::ISSUER_UNTRUSTED,
                 "issuer \"https://evil.example\" is not trusted");
  // Issuer names are compared exactly.
  ExpectRejected(
      MintToken(*rs_, With(Claims(), "iss", "https://auth.acme.example/")),
      v1::Reason::ISSUER_UNTRUSTED, "is not trusted");
  // Untrusted even when signed by a trusted key: the key is the other
  // issuer's.
  ExpectRejected(MintToken(*agent_, Claims()), v1::Reason::TOKEN_INVALID,
                 "unknown key id \"agent1\" for issuer "
                 "\"https://auth.acme.example\"");
  ExpectRejected(MintToken(*rs_, Without(Claims(), "iss")),
                 v1::Reason::TOKEN_INVALID, "no issuer");
  ExpectRejected(MintToken(*rs_, With(Claims(), "iss", 7)),
                 v1::Reason::TOKEN_INVALID, "no issuer");
  // A long, unprintable issuer is quoted safely.
  const std::string long_issuer = std::string(300, 'x') + "\n\x01";
  const TokenVerifier::Result result = verifier_.Verify(
      MintToken(*rs_, With(Claims(), "iss", long_issuer)), Now());
  EXPECT_EQ(result.rejection.code, v1::Reason::ISSUER_UNTRUSTED);
  EXPECT_THAT(result.rejection.message, HasSubstr("xxx\"... (302 bytes)"));
  EXPECT_LT(result.rejection.message.size(), 160u);
}

TEST_F(TokenVerifierTest, UnknownOrMissingKeyId) {
  ExpectRejected(
      MintToken(*rs_, Claims(), {{"kid", "nope"}}), v1::Reason::TOKEN_INVALID,
      "unknown key id \"nope\" for issuer \"https://auth.acme.example\"");
  ExpectRejected(MintToken(*rs_, Claims(), {{"kid", nullptr}}),
                 v1::Reason::TOKEN_INVALID, "no key id (kid)");
  ExpectRejected(MintToken(*rs_, Claims(), {{"kid", ""}}),
                 v1::Reason::TOKEN_INVALID, "no key id (kid)");
  ExpectRejected(MintToken(*rs_, Claims(), {{"kid", 1}}),
                 v1::Reason::TOKEN_INVALID, "no key id (kid)");
}

TEST_F(TokenVerifierTest, CriticalHeaderIsRefused) {
  ExpectRejected(MintToken(*rs_, Claims(), {{"crit", {"exp"}}, {"exp", 1}}),
                 v1::Reason::TOKEN_INVALID, "critical extensions (crit)");
  ExpectRejected(MintToken(*rs_, Claims(), {{"b64", false}, {"crit", {"b64"}}}),
                 v1::Reason::TOKEN_INVALID, "crit");
}

TEST_F(TokenVerifierTest, TimeClaims) {
  ExpectRejected(MintToken(*rs_, ExpiringAt(kNow - 61)),
                 v1::Reason::TOKEN_EXPIRED, "the token expired at 2026-11-18T");
  ExpectRejected(MintToken(*rs_, With(Claims(), "nbf", kNow + 61)),
                 v1::Reason::TOKEN_INVALID, "the token is not valid before");
  ExpectRejected(
      MintToken(*rs_, With(With(Claims(), "iat", kNow + 61), "nbf", kNow)),
      v1::Reason::TOKEN_INVALID, "issued in the future");
  ExpectRejected(
      MintToken(*rs_, With(With(Claims(), "iat", kNow + 10), "exp", kNow + 10)),
      v1::Reason::TOKEN_INVALID, "no later than it was issued");
  ExpectRejected(
      MintToken(*rs_, With(With(Claims(), "iat", kNow + 20), "exp", kNow + 10)),
      v1::Reason::TOKEN_INVALID, "no later than it was issued");
}

TEST_F(TokenVerifierTest, ClockSkewBoundaries) {
  // Skew 60 s: exp must be after now - 60; nbf and iat at most now + 60.
  EXPECT_FALSE(
      verifier_.Verify(MintToken(*ed_, ExpiringAt(kNow - 60)), Now()).ok());
  EXPECT_TRUE(
      verifier_.Verify(MintToken(*ed_, ExpiringAt(kNow - 59)), Now()).ok());
  EXPECT_TRUE(
      verifier_.Verify(MintToken(*ed_, With(Claims(), "nbf", kNow + 60)), Now())
          .ok());
  EXPECT_FALSE(
      verifier_.Verify(MintToken(*ed_, With(Claims(), "nbf", kNow + 61)), Now())
          .ok());
  EXPECT_TRUE(verifier_
                  .Verify(MintToken(*ed_, With(With(Claims(), "iat", kNow + 60),
                                               "nbf", kNow)),
                          Now())
                  .ok());
  EXPECT_FALSE(
      verifier_
          .Verify(MintToken(*ed_, With(With(Claims(), "iat", kNow + 61), "nbf",
                                       kNow)),
                  Now())
          .ok());

  TokenVerifierOptions options;
  options.clock_skew = absl::ZeroDuration();
  TokenVerifier strict(options);
  strict.SetIssuers(Issuers());
  EXPECT_EQ(
      strict.Verify(MintToken(*ed_, ExpiringAt(kNow)), Now()).rejection.code,
      v1::Reason::TOKEN_EXPIRED);
  EXPECT_TRUE(
      strict.Verify(MintToken(*ed_, With(Claims(), "exp", kNow + 1)), Now())
          .ok());
  EXPECT_TRUE(
      strict.Verify(MintToken(*ed_, With(Claims(), "nbf", kNow)), Now()).ok());
  EXPECT_FALSE(
      strict.Verify(MintToken(*ed_, With(Claims(), "nbf", kNow + 1)), Now())
          .ok());
}

TEST_F(TokenVerifierTest, RequiredClaims) {
  ExpectRejected(MintToken(*rs_, Without(Claims(), "exp")),
                 v1::Reason::TOKEN_INVALID, "no \"exp\" claim");
  ExpectRejected(MintToken(*rs_, Without(Claims(), "iat")),
                 v1::Reason::TOKEN_INVALID, "no \"iat\" claim");
  ExpectRejected(MintToken(*rs_, Without(Claims(), "sub")),
                 v1::Reason::TOKEN_INVALID, "no \"sub\" claim");
  ExpectRejected(MintToken(*rs_, With(Claims(), "sub", "")),
                 v1::Reason::TOKEN_INVALID, "\"sub\" claim is not a non-empty");
}

TEST_F(TokenVerifierTest, WrongClaimTypes) {
  const std::vector<std::tuple<std::string, Json, std::string>> cases = {
      {"exp", "1795000300", "\"exp\" claim is not a number"},
      {"exp", true, "\"exp\" claim is not a number"},
      {"exp", nullptr, "\"exp\" claim is not a number"},
      {"exp", 1e20, "\"exp\" claim is out of range"},
      {"exp", -5, "\"exp\" claim is out of range"},
      {"iat", {kNow}, "\"iat\" claim is not a number"},
      {"nbf", "soon", "\"nbf\" claim is not a number"},
      {"sub", 42, "\"sub\" claim is not a non-empty string"},
      {"aud", 5, "\"aud\" claim is not a string or an array of strings"},
      {"aud", {"a", 5}, "\"aud\" claim is not a string or an array"},
      {"aud", {{"x", "y"}}, "\"aud\" claim is not a string or an array"},
      {"scope", {"crm.read"}, "\"scope\" claim is not a string"},
      {"amr", "pwd", "\"amr\" claim is not an array of strings"},
      {"amr", {"pwd", 1}, "\"amr\" claim is not an array of strings"},
      {"act", "agent-7", "\"act\" claim is not an object"},
      {"act", {{"iss", "x"}}, "\"act\" claim has no non-empty string \"sub\""},
      {"act", {{"sub", 7}}, "\"act\" claim has no non-empty string \"sub\""},
      {"cnf", "thumb", "\"cnf\" claim is not an object"},
      {"cnf", {{"jkt", 5}}, "\"cnf.jkt\" claim is not a string"},
      {"cnf", {{"x5t#S256", {"a"}}}, "\"cnf.x5t#S256\" claim is not a string"},
      {"client_id", 5, "\"client_id\" claim is not a string"},
      {"azp", false, "\"azp\" claim is not a string"},
      {"acr", 2, "\"acr\" claim is not a string"},
      {"jti", 2, "\"jti\" claim is not a string"},
  };
  for (const auto& [name, value, fragment] : cases) {
    SCOPED_TRACE(name);
    ExpectRejected(MintToken(*es_, With(Claims(), name, value)),
                   v1::Reason::TOKEN_INVALID, fragment);
  }
}

TEST_F(TokenVerifierTest, MalformedBase64) {
  const std::vector<std::string> parts = Parts(MintToken(*rs_, Claims()));
  for (int part = 0; part < 3; ++part) {
    for (const std::string& bad :
         {std::string("="), std::string("+"), std::string(" "),
          std::string("\n"), std::string("*"), std::string("\xc3\xa9")}) {
      std::vector<std::string> changed = parts;
      changed[part].insert(changed[part].size() / 2, bad);
      const std::string fragment = part == 0   ? "header is not"
                                   : part == 1 ? "payload is not"
                                               : "signature is not base64url";
      ExpectRejected(Join(changed), v1::Reason::TOKEN_INVALID, fragment);
    }
  }
  // Padding at the end of the signature.
  ExpectRejected(MintToken(*rs_, Claims()) + "==", v1::Reason::TOKEN_INVALID,
                 "signature is not base64url");
}

TEST_F(TokenVerifierTest, MalformedJson) {
  const std::string good_header =
      Json({{"alg", "RS256"}, {"kid", "rs1"}, {"typ", "JWT"}}).dump();
  const std::string good_payload = Claims().dump();
  for (const std::string& header :
       {std::string("{not json"), std::string("[]"), std::string("\"JWT\""),
        std::string(""), std::string("{\"alg\":\"RS256\",\"kid\":\"rs1\""),
        std::string("{\"alg\":\"RS256\",\"kid\":\"rs1\"}trailing"),
        std::string("{\"alg\":\"RS256\",\"kid\":\"\xff\"}")}) {
    ExpectRejected(SignParts(*rs_, header, good_payload),
                   v1::Reason::TOKEN_INVALID,
                   "header is not a base64url-encoded JSON object");
  }
  for (const std::string& payload :
       {std::string("{not json"), std::string("[1,2]"), std::string("null"),
        std::string(""), good_payload.substr(0, good_payload.size() - 1)}) {
    ExpectRejected(SignParts(*rs_, good_header, payload),
                   v1::Reason::TOKEN_INVALID,
                   "payload is not a base64url-encoded JSON object");
  }
}

TEST_F(TokenVerifierTest, WrongNumberOfParts) {
  const std::vector<std::string> parts = Parts(MintToken(*rs_, Claims()));
  ExpectRejected(parts[0] + "." + parts[1], v1::Reason::TOKEN_INVALID,
                 "it has 2 parts, not the 3 of header.payload.signature");
  ExpectRejected(Join(parts) + "." + parts[2], v1::Reason::TOKEN_INVALID,
                 "it has 4 parts");
  ExpectRejected(Join(parts) + ".", v1::Reason::TOKEN_INVALID,
                 "it has 4 parts");
  ExpectRejected(parts[0] + parts[1] + parts[2], v1::Reason::TOKEN_INVALID,
                 "it has 1 part, not");
  ExpectRejected("", v1::Reason::TOKEN_INVALID, "it has 1 part,");
  ExpectRejected("..", v1::Reason::TOKEN_INVALID, "header is not");
}

TEST_F(TokenVerifierTest, SizeLimit) {
  const std::string huge =
      MintToken(*rs_, Claims(), {{"x", std::string(20000, 'a')}});
  ExpectRejected(huge, v1::Reason::TOKEN_INVALID,
                 absl::StrCat("the token is ", huge.size(),
                              " bytes long, more than the limit of 16384"));
  // Exactly at the limit is fine.
  const std::string token = MintToken(*rs_, Claims());
  TokenVerifierOptions options;
  options.max_token_bytes = token.size();
  TokenVerifier at_limit(options);
  at_limit.SetIssuers(Issuers());
  EXPECT_TRUE(at_limit.Verify(token, Now()).ok());
  options.max_token_bytes = token.size() - 1;
  TokenVerifier below_limit(options);
  below_limit.SetIssuers(Issuers());
  EXPECT_THAT(below_limit.Verify(token, Now()).rejection.message,
              HasSubstr("more than the limit"));
}

TEST_F(TokenVerifierTest, Es256SignatureInDerFormIsRefused) {
  const std::string header =
      Json({{"alg", "ES256"}, {"kid", "es1"}, {"typ", "JWT"}}).dump();
  const std::string input = absl::StrCat(Base64UrlEncode(header), ".",
                                         Base64UrlEncode(Claims().dump()));
  ExpectRejected(input + "." + Base64UrlEncode(es_->SignDer(input)),
                 v1::Reason::TOKEN_INVALID,
                 "signature does not verify with key \"es1\"");
  EXPECT_TRUE(
      verifier_.Verify(input + "." + Base64UrlEncode(es_->Sign(input)), Now())
          .ok());
}

TEST_F(TokenVerifierTest, DeeplyNestedJsonDoesNotCrash) {
  TokenVerifierOptions options;
  options.max_token_bytes = 1 << 20;
  TokenVerifier verifier(options);
  verifier.SetIssuers(Issuers());
  const std::string nested =
      std::string(200000, '[') + std::string(200000, ']');
  const std::string header = Json({{"alg", "RS256"}, {"kid", "rs1"}}).dump();
  const TokenVerifier::Result in_header =
      verifier.Verify(SignParts(*rs_, nested, Claims().dump()), Now());
  EXPECT_THAT(in_header.rejection.message, HasSubstr("header is not"));
  const TokenVerifier::Result in_payload =
      verifier.Verify(SignParts(*rs_, header, nested), Now());
  EXPECT_THAT(in_payload.rejection.message, HasSubstr("payload is not"));
  const std::string claims = Claims().dump();
  const TokenVerifier::Result in_claim = verifier.Verify(
      SignParts(*rs_, header,
                claims.substr(0, claims.size() - 1) + ",\"x\":" + nested + "}"),
      Now());
  EXPECT_TRUE(in_claim.ok()) << in_claim.rejection.message;
}

TEST_F(TokenVerifierTest, FirstOfTwoIssuersWithTheSameNameCounts) {
  TokenVerifier verifier;
  verifier.SetIssuers({{kIssuer, *JwkSet::Parse(JwkSetJson({rs_}))},
                       {kIssuer, *JwkSet::Parse(JwkSetJson({es_}))}});
  EXPECT_TRUE(verifier.Verify(MintToken(*rs_, Claims()), Now()).ok());
  EXPECT_FALSE(verifier.Verify(MintToken(*es_, Claims()), Now()).ok());
}

TEST_F(TokenVerifierTest, NoIssuersTrustsNothing) {
  TokenVerifier empty;
  const TokenVerifier::Result result =
      empty.Verify(MintToken(*rs_, Claims()), Now());
  EXPECT_EQ(result.rejection.code, v1::Reason::ISSUER_UNTRUSTED);
}

TEST_F(TokenVerifierTest, CacheReturnsTheSameClaims) {
  const std::string token = MintToken(*rs_, Claims());
  const TokenVerifier::Result first = verifier_.Verify(token, Now());
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(verifier_.CachedTokens(), 1u);
  const TokenVerifier::Result second =
      verifier_.Verify(token, Now() + absl::Seconds(5));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second.token, first.token);  // The cached entry itself.
  EXPECT_EQ(second.token->subject, "alice");
  // Rejections are not cached.
  const std::string bad = MintToken(*rs_, Claims(), {{"kid", "nope"}});
  EXPECT_FALSE(verifier_.Verify(bad, Now()).ok());
  EXPECT_FALSE(verifier_.Verify(bad, Now()).ok());
  EXPECT_EQ(verifier_.CachedTokens(), 1u);
}

TEST_F(TokenVerifierTest, CachedTokenExpires) {
  const std::string token = MintToken(*es_, Claims());  // exp now + 300.
  const TokenVerifier::Result first = verifier_.Verify(token, Now());
  ASSERT_TRUE(first.ok());
  // At exp + skew it is expired, and forgotten.
  const TokenVerifier::Result late =
      verifier_.Verify(token, Now() + absl::Seconds(360));
  EXPECT_EQ(late.rejection.code, v1::Reason::TOKEN_EXPIRED);
  EXPECT_THAT(late.rejection.message, HasSubstr("expired at"));
  EXPECT_EQ(verifier_.CachedTokens(), 0u);
  // One second earlier it was still valid (verified afresh).
  const TokenVerifier::Result earlier =
      verifier_.Verify(token, Now() + absl::Seconds(359));
  ASSERT_TRUE(earlier.ok());
  EXPECT_NE(earlier.token, first.token);
  // A cached token's nbf is checked against each call's time too.
  EXPECT_EQ(verifier_.Verify(token, Now() - absl::Seconds(100)).rejection.code,
            v1::Reason::TOKEN_INVALID);
  EXPECT_TRUE(verifier_.Verify(token, Now()).ok());
}

TEST_F(TokenVerifierTest, SetIssuersEmptiesTheCache) {
  const std::string token = MintToken(*rs_, Claims());
  ASSERT_TRUE(verifier_.Verify(token, Now()).ok());
  // The issuer is removed.
  std::vector<TrustedIssuer> agents_only = Issuers();
  agents_only.erase(agents_only.begin());
  verifier_.SetIssuers(agents_only);
  EXPECT_EQ(verifier_.CachedTokens(), 0u);
  ExpectRejected(token, v1::Reason::ISSUER_UNTRUSTED, "is not trusted");
  // The issuer is back without the key.
  verifier_.SetIssuers(
      {{kIssuer, *JwkSet::Parse(JwkSetJson({ps_, es_, ed_}))}});
  ExpectRejected(token, v1::Reason::TOKEN_INVALID, "unknown key id \"rs1\"");
  verifier_.SetIssuers(Issuers());
  EXPECT_TRUE(verifier_.Verify(token, Now()).ok());
}

TEST_F(TokenVerifierTest, CacheStaysBounded) {
  TokenVerifierOptions options;
  options.cache_entries = 20;
  TokenVerifier verifier(options);
  verifier.SetIssuers(Issuers());
  std::vector<std::string> tokens;
  for (int i = 0; i < 200; ++i) {
    tokens.push_back(MintToken(*ed_, With(Claims(), "jti", absl::StrCat(i))));
    const TokenVerifier::Result result = verifier.Verify(tokens.back(), Now());
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result.token->jwt_id, absl::StrCat(i));
    EXPECT_LE(verifier.CachedTokens(), 20u);
  }
  EXPECT_GE(verifier.CachedTokens(), 10u);
  // Every token still verifies, with its own claims, cached or not.
  for (int i = 0; i < 200; ++i) {
    const TokenVerifier::Result result = verifier.Verify(tokens[i], Now());
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result.token->jwt_id, absl::StrCat(i));
  }
  options.cache_entries = 0;
  TokenVerifier uncached(options);
  uncached.SetIssuers(Issuers());
  EXPECT_TRUE(uncached.Verify(tokens[0], Now()).ok());
  EXPECT_TRUE(uncached.Verify(tokens[0], Now()).ok());
  EXPECT_EQ(uncached.CachedTokens(), 0u);
}

TEST_F(TokenVerifierTest, ConcurrentVerifyAndSetIssuers) {
  std::vector<std::string> tokens;
  for (const TestSigningKey* key : AllKeys()) {
    for (int i = 0; i < 5; ++i) {
      tokens.push_back(MintToken(*key, With(Claims(), "jti", absl::StrCat(i))));
    }
  }
  std::vector<TrustedIssuer> none;
  std::atomic<bool> stop{false};
  std::thread swapper([&] {
    for (int i = 0; i < 200; ++i) {
      verifier_.SetIssuers(i % 2 == 0 ? none : Issuers());
    }
    stop = true;
  });
  std::vector<std::thread> workers;
  std::atomic<int> failures{0};
  for (int w = 0; w < 3; ++w) {
    workers.emplace_back([&, w] {
      size_t i = w;
      while (!stop) {
        const std::string& token = tokens[i++ % tokens.size()];
        const TokenVerifier::Result result = verifier_.Verify(token, Now());
        if (result.ok()
                ? result.token->subject != "alice"
                : result.rejection.code != v1::Reason::ISSUER_UNTRUSTED) {
          ++failures;
        }
      }
    });
  }
  swapper.join();
  for (std::thread& worker : workers) worker.join();
  EXPECT_EQ(failures, 0);
}

// Thousands of mutated tokens: nothing crashes, every message is safe, and
// only the untouched tokens verify.
TEST_F(TokenVerifierTest, MutatedTokensNeverVerify) {
  std::vector<std::string> originals;
  for (const TestSigningKey* key : AllKeys()) {
    originals.push_back(MintToken(*key, Claims()));
    originals.push_back(
        MintToken(*key, With(Claims(), "sub", "bob"), {{"typ", "at+jwt"}}));
  }
  originals.push_back(MintToken(*agent_, {{"iss", kAgentIssuer},
                                          {"sub", "a"},
                                          {"iat", kNow},
                                          {"exp", kNow + 60}}));
  const std::set<std::string> valid(originals.begin(), originals.end());
  for (const std::string& token : originals) {
    ASSERT_TRUE(verifier_.Verify(token, Now()).ok());
  }

  std::mt19937_64 rng(20261126);
  auto uniform = [&rng](size_t n) {
    return std::uniform_int_distribution<size_t>(0, n - 1)(rng);
  };
  const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ";
  int verified = 0;
  for (int i = 0; i < 6000; ++i) {
    std::string token = originals[uniform(originals.size())];
    const int mutations = 1 + static_cast<int>(uniform(3));
    for (int m = 0; m < mutations; ++m) {
      switch (uniform(7)) {
        case 0:  // Flip bits of a byte.
          if (!token.empty()) {
            token[uniform(token.size())] ^= static_cast<char>(1 + uniform(255));
          }
          break;
        case 1:  // Replace a character with a plausible one.
          if (!token.empty()) {
            token[uniform(token.size())] = kAlphabet[uniform(kAlphabet.size())];
          }
          break;
        case 2:  // Truncate.
          token.resize(uniform(token.size() + 1));
          break;
        case 3:  // Insert.
          token.insert(uniform(token.size() + 1), 1,
                       uniform(2) == 0 ? kAlphabet[uniform(kAlphabet.size())]
                                       : static_cast<char>(uniform(256)));
          break;
        case 4:  // Delete.
          if (!token.empty()) token.erase(uniform(token.size()), 1);
          break;
        case 5: {  // Splice parts of other tokens.
          std::vector<std::string> parts = Parts(token);
          const std::vector<std::string> other =
              Parts(originals[uniform(originals.size())]);
          if (parts.size() == 3 && other.size() == 3) {
            const size_t which = uniform(3);
            parts[which] = other[which];
            token = Join(parts);
          }
          break;
        }
        case 6: {  // Re-encode a part with one changed byte.
          std::vector<std::string> parts = Parts(token);
          if (parts.size() == 3) {
            const size_t which = uniform(3);
            absl::StatusOr<std::string> bytes = Base64UrlDecode(parts[which]);
            if (bytes.ok() && !bytes->empty()) {
              (*bytes)[uniform(bytes->size())] ^= 0x01;
              parts[which] = Base64UrlEncode(*bytes);
              token = Join(parts);
            }
          }
          break;
        }
      }
    }
    const TokenVerifier::Result result = verifier_.Verify(token, Now());
    const bool is_original = valid.count(token) > 0;
    ASSERT_EQ(result.ok(), is_original) << "mutation " << i;
    if (result.ok()) {
      ++verified;
      continue;
    }
    ASSERT_TRUE(result.rejection.code == v1::Reason::TOKEN_INVALID ||
                result.rejection.code == v1::Reason::ISSUER_UNTRUSTED)
        << result.rejection.message;
    ExpectSafeMessage(token, result.rejection.message);
  }
  // Splices of identical parts give back originals now and then.
  EXPECT_GT(verified, 0);
}

}  // namespace
}  // namespace token
}  // namespace pdp
