#include "pdp/token/jwk_set.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pdp/token/base64url.h"
#include "pdp/token/testing/token_minter.h"

namespace pdp {
namespace token {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;

class JwkSetTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rs_ = new TestSigningKey(
        TestSigningKey::Generate(JwsAlgorithm::kRs256, "rs"));
    ps_ = new TestSigningKey(
        TestSigningKey::Generate(JwsAlgorithm::kPs256, "ps"));
    es_ = new TestSigningKey(
        TestSigningKey::Generate(JwsAlgorithm::kEs256, "es"));
    ed_ = new TestSigningKey(
        TestSigningKey::Generate(JwsAlgorithm::kEdDsa, "ed"));
  }

  static Json Jwk(const TestSigningKey& key) {
    return Json::parse(key.JwkJson());
  }

  // Parses {"keys": [jwks...]} and returns the error message ("" if OK).
  static std::string ErrorOf(const std::vector<Json>& jwks) {
    Json set = {{"keys", jwks}};
    absl::StatusOr<JwkSet> parsed = JwkSet::Parse(set.dump());
    if (parsed.ok()) return "";
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(parsed.status().message());
  }

  static TestSigningKey* rs_;
  static TestSigningKey* ps_;
  static TestSigningKey* es_;
  static TestSigningKey* ed_;
};

TestSigningKey* JwkSetTest::rs_ = nullptr;
TestSigningKey* JwkSetTest::ps_ = nullptr;
TestSigningKey* JwkSetTest::es_ = nullptr;
TestSigningKey* JwkSetTest::ed_ = nullptr;

TEST_F(JwkSetTest, ParsesEveryKeyType) {
  absl::StatusOr<JwkSet> set = JwkSet::Parse(JwkSetJson({rs_, ps_, es_, ed_}));
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->size(), 4u);
  for (const TestSigningKey* key : {rs_, ps_, es_, ed_}) {
    const JwkSet::Key* found = set->Find(key->kid());
    ASSERT_NE(found, nullptr) << key->kid();
    EXPECT_EQ(found->kid, key->kid());
    EXPECT_EQ(found->alg, key->alg());
    ASSERT_NE(found->key, nullptr);
    EXPECT_EQ(EVP_PKEY_eq(found->key.get(), key->pkey()), 1);
  }
  EXPECT_EQ(set->Find("missing"), nullptr);
  EXPECT_EQ(set->Find(""), nullptr);
}

TEST_F(JwkSetTest, CopiesShareKeys) {
  absl::StatusOr<JwkSet> set = JwkSet::Parse(JwkSetJson({rs_}));
  ASSERT_TRUE(set.ok());
  const JwkSet copy = *set;
  EXPECT_EQ(copy.Find("rs"), set->Find("rs"));
  EXPECT_EQ(JwkSet().size(), 0u);
  EXPECT_EQ(JwkSet().Find("rs"), nullptr);
}

TEST_F(JwkSetTest, AlgorithmComesFromTheKey) {
  Json rs = Jwk(*rs_), es = Jwk(*es_), ed = Jwk(*ed_);
  rs.erase("alg");
  es.erase("alg");
  ed.erase("alg");
  Json ps = Jwk(*rs_);
  ps["kid"] = "as-ps";
  ps["alg"] = "PS256";
  absl::StatusOr<JwkSet> set =
      JwkSet::Parse(Json({{"keys", {rs, es, ed, ps}}}).dump());
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->Find("rs")->alg, JwsAlgorithm::kRs256);
  EXPECT_EQ(set->Find("es")->alg, JwsAlgorithm::kEs256);
  EXPECT_EQ(set->Find("ed")->alg, JwsAlgorithm::kEdDsa);
  EXPECT_EQ(set->Find("as-ps")->alg, JwsAlgorithm::kPs256);
}

TEST_F(JwkSetTest, RefusesAnAlgorithmThatDoesNotFitTheKey) {
  for (const auto& [key, alg] :
       std::vector<std::pair<const TestSigningKey*, const char*>>{
           {rs_, "ES256"},
           {rs_, "HS256"},
           {rs_, "none"},
           {rs_, "RS384"},
           {es_, "RS256"},
           {es_, "EdDSA"},
           {ed_, "ES256"},
           {ed_, "HS256"}}) {
    Json jwk = Jwk(*key);
    jwk["alg"] = alg;
    EXPECT_THAT(ErrorOf({jwk}),
                AllOf(HasSubstr("key 0 (kid \"" + key->kid() + "\")"),
                      HasSubstr("does not fit")))
        << alg;
  }
}

TEST_F(JwkSetTest, SkipsEncryptionKeys) {
  Json enc = Jwk(*rs_);
  enc["use"] = "enc";
  enc["alg"] = "RSA-OAEP";
  enc["kid"] = "enc";
  absl::StatusOr<JwkSet> set =
      JwkSet::Parse(Json({{"keys", {enc, Jwk(*es_)}}}).dump());
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->size(), 1u);
  EXPECT_EQ(set->Find("enc"), nullptr);
  EXPECT_NE(set->Find("es"), nullptr);
}

TEST_F(JwkSetTest, RefusesBadKeysNamingThem) {
  Json no_kid = Jwk(*es_);
  no_kid.erase("kid");
  EXPECT_THAT(ErrorOf({no_kid}),
              AllOf(HasSubstr("key 0:"), HasSubstr("\"kid\" is missing")));
  Json empty_kid = Jwk(*es_);
  empty_kid["kid"] = "";
  EXPECT_THAT(ErrorOf({empty_kid}), HasSubstr("\"kid\" is missing or empty"));

  EXPECT_THAT(ErrorOf({Jwk(*es_), Jwk(*rs_), Jwk(*es_)}),
              AllOf(HasSubstr("key 2 (kid \"es\")"), HasSubstr("unique")));

  EXPECT_THAT(
      ErrorOf({Jwk(*es_),
               Json{{"kty", "oct"}, {"kid", "hmac"}, {"k", "c2VjcmV0"}}}),
      AllOf(HasSubstr("key 1 (kid \"hmac\")"), HasSubstr("private")));
  EXPECT_THAT(ErrorOf({Json{{"kty", "oct"}, {"kid", "hmac"}}}),
              AllOf(HasSubstr("key 0 (kid \"hmac\")"), HasSubstr("symmetric")));

  Json private_key = Jwk(*es_);
  private_key["d"] = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";
  const std::string message = ErrorOf({private_key});
  EXPECT_THAT(message, AllOf(HasSubstr("key 0 (kid \"es\")"),
                             HasSubstr("private member \"d\"")));
  EXPECT_THAT(message, Not(HasSubstr("jpsQnn")));

  Json unknown_kty = Jwk(*es_);
  unknown_kty["kty"] = "XYZ";
  EXPECT_THAT(ErrorOf({unknown_kty}),
              AllOf(HasSubstr("key 0 (kid \"es\")"),
                    HasSubstr("key type \"XYZ\" is not supported")));
  Json other_curve = Jwk(*es_);
  other_curve["crv"] = "P-384";
  EXPECT_THAT(ErrorOf({other_curve}),
              HasSubstr("EC curve \"P-384\" is not supported"));
  Json x25519 = Jwk(*ed_);
  x25519["crv"] = "X25519";
  EXPECT_THAT(ErrorOf({x25519}),
              HasSubstr("OKP curve \"X25519\" is not supported"));
  Json no_kty = Jwk(*es_);
  no_kty.erase("kty");
  EXPECT_THAT(ErrorOf({no_kty}), HasSubstr("\"kty\" is missing"));

  Json bad_use = Jwk(*es_);
  bad_use["use"] = "both";
  EXPECT_THAT(ErrorOf({bad_use}), HasSubstr("\"use\" is \"both\""));

  EXPECT_THAT(ErrorOf({Json("a string")}),
              AllOf(HasSubstr("key 0"), HasSubstr("not a JSON object")));
}

TEST_F(JwkSetTest, RefusesBadKeyMaterial) {
  Json no_n = Jwk(*rs_);
  no_n.erase("n");
  EXPECT_THAT(ErrorOf({no_n}), HasSubstr("\"n\" is missing"));
  Json padded = Jwk(*rs_);
  padded["e"] = "AQAB==";
  EXPECT_THAT(ErrorOf({padded}), HasSubstr("\"e\" is not base64url"));
  Json number = Jwk(*ed_);
  number["x"] = 5;
  EXPECT_THAT(ErrorOf({number}), HasSubstr("\"x\" is not a string"));

  // A 1024-bit modulus.
  Json small = Jwk(*rs_);
  std::string n = *Base64UrlDecode(small["n"].get<std::string>());
  n.resize(128);
  n.back() |= 1;
  small["n"] = Base64UrlEncode(n);
  EXPECT_THAT(ErrorOf({small}),
              AllOf(HasSubstr("key 0 (kid \"rs\")"), HasSubstr("1024 bits"),
                    HasSubstr("at least 2048")));
  Json even_e = Jwk(*rs_);
  even_e["e"] = "AQAA";
  EXPECT_THAT(ErrorOf({even_e}), HasSubstr("exponent"));

  // A point off the curve: y changed.
  Json off_curve = Jwk(*es_);
  std::string y = off_curve["y"].get<std::string>();
  y[10] = y[10] == 'A' ? 'B' : 'A';
  off_curve["y"] = y;
  EXPECT_THAT(ErrorOf({off_curve}),
              AllOf(HasSubstr("key 0 (kid \"es\")"), HasSubstr("not on P-256")));
  Json short_x = Jwk(*es_);
  short_x["x"] = "AAAA";
  EXPECT_THAT(ErrorOf({short_x}), HasSubstr("exactly 32 bytes"));
  Json short_ed = Jwk(*ed_);
  short_ed["x"] = "AAAA";
  EXPECT_THAT(ErrorOf({short_ed}), HasSubstr("exactly 32 bytes"));
}

TEST_F(JwkSetTest, RefusesWhatIsNotAJwkSet) {
  for (const char* text : {"", "not json", "[]", "{}", "{\"keys\": {}}",
                           "{\"keys\": 1}", "{\"keys\": [", "\"keys\""}) {
    absl::StatusOr<JwkSet> set = JwkSet::Parse(text);
    EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
  absl::StatusOr<JwkSet> empty = JwkSet::Parse("{\"keys\": []}");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->size(), 0u);
}

TEST_F(JwkSetTest, QuotesKeyIdsSafely) {
  Json jwk = Jwk(*es_);
  jwk["kid"] = std::string(500, 'k') + "\n";
  jwk["kty"] = "nope";
  const std::string message = ErrorOf({jwk});
  EXPECT_THAT(message, HasSubstr("..."));
  EXPECT_THAT(message, Not(HasSubstr("\n")));
  EXPECT_LT(message.size(), 300u);
}

}  // namespace
}  // namespace token
}  // namespace pdp
