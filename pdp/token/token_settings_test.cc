#include "pdp/token/token_settings.h"

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pdp/token/testing/token_minter.h"

namespace pdp {
namespace token {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class TokenSettingsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    es_ = new TestSigningKey(
        TestSigningKey::Generate(JwsAlgorithm::kEs256, "es1"));
    ed_ = new TestSigningKey(
        TestSigningKey::Generate(JwsAlgorithm::kEdDsa, "ed1"));
  }

  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    ASSERT_NE(tmp, nullptr);
    dir_ = absl::StrCat(
        tmp, "/",
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_EQ(std::system(("mkdir -p \"" + dir_ + "\"").c_str()), 0);
  }

  std::string Write(const std::string& name, const std::string& contents) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << contents;
    return path;
  }

  // Loads `yaml` and returns the error message ("" if it loads).
  std::string ErrorOf(const std::string& yaml) {
    absl::StatusOr<TokenSettings> settings =
        LoadTokenSettings(Write("settings.yaml", yaml));
    if (settings.ok()) return "";
    EXPECT_EQ(settings.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(settings.status().message());
  }

  static TestSigningKey* es_;
  static TestSigningKey* ed_;
  std::string dir_;
};

TestSigningKey* TokenSettingsTest::es_ = nullptr;
TestSigningKey* TokenSettingsTest::ed_ = nullptr;

TEST_F(TokenSettingsTest, LoadsEverything) {
  const std::string jwks_path = Write("auth-jwks.json", JwkSetJson({es_}));
  nlohmann::json ed_jwk = nlohmann::json::parse(ed_->JwkJson());
  const std::string path =
      Write("settings.yaml", absl::StrCat(R"(
clock_skew_seconds: 30
max_lifetime_seconds: {untrusted: 120, standard: 600, trusted: 1800, internal: 7200, agent: 900, service: 60}
issuers:
  - issuer: https://auth.acme.example
    jwks_file: auth-jwks.json
  - issuer: https://agents.acme.example
    jwks:
      keys:
        - kty: OKP
          crv: Ed25519
          kid: ed1
          x: )",
                                          ed_jwk["x"].get<std::string>(), R"(
  - issuer: https://json.acme.example
    jwks: )",
                                          JwkSetJson({ed_}), "\n"));
  absl::StatusOr<TokenSettings> settings = LoadTokenSettings(path);
  ASSERT_TRUE(settings.ok()) << settings.status();
  EXPECT_EQ(settings->clock_skew, absl::Seconds(30));
  EXPECT_EQ(settings->max_lifetime[v1::CLIENT_TRUST_UNSPECIFIED],
            absl::Seconds(120));
  EXPECT_EQ(settings->max_lifetime[v1::CLIENT_TRUST_UNTRUSTED],
            absl::Seconds(120));
  EXPECT_EQ(settings->max_lifetime[v1::CLIENT_TRUST_STANDARD],
            absl::Seconds(600));
  EXPECT_EQ(settings->max_lifetime[v1::CLIENT_TRUST_TRUSTED],
            absl::Seconds(1800));
  EXPECT_EQ(settings->max_lifetime[v1::CLIENT_TRUST_INTERNAL],
            absl::Seconds(7200));
  EXPECT_EQ(settings->max_agent_lifetime, absl::Seconds(900));
  EXPECT_EQ(settings->max_service_lifetime, absl::Seconds(60));
  ASSERT_EQ(settings->issuers.size(), 3u);
  EXPECT_EQ(settings->issuers[0].issuer, "https://auth.acme.example");
  ASSERT_NE(settings->issuers[0].keys.Find("es1"), nullptr);
  EXPECT_EQ(settings->issuers[0].keys.Find("es1")->alg, JwsAlgorithm::kEs256);
  EXPECT_EQ(settings->issuers[1].issuer, "https://agents.acme.example");
  ASSERT_NE(settings->issuers[1].keys.Find("ed1"), nullptr);
  EXPECT_EQ(settings->issuers[1].keys.Find("ed1")->alg, JwsAlgorithm::kEdDsa);
  EXPECT_NE(settings->issuers[2].keys.Find("ed1"), nullptr);
  EXPECT_THAT(settings->files_read, ElementsAre(path, jwks_path));

  // The loaded issuers verify tokens.
  TokenVerifier verifier;
  verifier.SetIssuers(settings->issuers);
  const absl::Time now = absl::FromUnixSeconds(1795000000);
  const nlohmann::json claims = {{"iss", "https://agents.acme.example"},
                                 {"sub", "agent-7"},
                                 {"iat", 1795000000},
                                 {"exp", 1795000060}};
  EXPECT_TRUE(verifier.Verify(MintToken(*ed_, claims), now).ok());
}

TEST_F(TokenSettingsTest, DelegationDepthAndRolesFromTheIdentityProvider) {
  const std::string path = Write("settings.yaml", absl::StrCat(R"(
max_delegation_depth: 2
issuers:
  - issuer: https://login.acme.example
    jwks: )", JwkSetJson({es_}), R"(
    roles_claim: groups
    roles:
      Sales: sales
      Execs: [executive, sales]
)"));
  absl::StatusOr<TokenSettings> settings = LoadTokenSettings(path);
  ASSERT_TRUE(settings.ok()) << settings.status();
  EXPECT_EQ(settings->max_delegation_depth, 2);
  ASSERT_EQ(settings->issuers.size(), 1u);
  EXPECT_EQ(settings->issuers[0].roles_claim, "groups");
  EXPECT_THAT(settings->issuers[0].roles.at("Sales"), ElementsAre("sales"));
  EXPECT_THAT(settings->issuers[0].roles.at("Execs"),
              ElementsAre("executive", "sales"));

  const std::string jwks = JwkSetJson({es_});
  EXPECT_THAT(ErrorOf("max_delegation_depth: 0\n"),
              HasSubstr(":1: max_delegation_depth must be between 1 and 32"));
  EXPECT_THAT(ErrorOf("max_delegation_depth: many\n"),
              HasSubstr("max_delegation_depth is not a whole number"));
  EXPECT_THAT(ErrorOf(absl::StrCat("issuers:\n  - issuer: x\n    jwks: ", jwks,
                                   "\n    roles_claim: groups\n")),
              HasSubstr("has roles_claim without roles"));
  EXPECT_THAT(ErrorOf(absl::StrCat("issuers:\n  - issuer: x\n    jwks: ", jwks,
                                   "\n    roles: {A: a}\n")),
              HasSubstr("has roles without roles_claim"));
  EXPECT_THAT(ErrorOf(absl::StrCat("issuers:\n  - issuer: x\n    jwks: ", jwks,
                                   "\n    roles_claim: groups\n"
                                   "    roles: {A: {b: c}}\n")),
              HasSubstr(":5: roles.A is not a role id or a list of them"));
}

TEST_F(TokenSettingsTest, DefaultsForAnEmptyFile) {
  for (const char* yaml : {"", "# nothing\n", "issuers: []\n", "issuers:\n"}) {
    absl::StatusOr<TokenSettings> settings =
        LoadTokenSettings(Write("settings.yaml", yaml));
    ASSERT_TRUE(settings.ok()) << settings.status();
    EXPECT_EQ(settings->clock_skew, absl::Seconds(60));
    EXPECT_EQ(settings->max_lifetime[v1::CLIENT_TRUST_UNSPECIFIED],
              absl::Minutes(5));
    EXPECT_EQ(settings->max_lifetime[v1::CLIENT_TRUST_UNTRUSTED],
              absl::Minutes(5));
    EXPECT_EQ(settings->max_lifetime[v1::CLIENT_TRUST_STANDARD],
              absl::Hours(1));
    EXPECT_EQ(settings->max_lifetime[v1::CLIENT_TRUST_TRUSTED], absl::Hours(1));
    EXPECT_EQ(settings->max_lifetime[v1::CLIENT_TRUST_INTERNAL],
              absl::Hours(1));
    EXPECT_EQ(settings->max_agent_lifetime, absl::Hours(1));
    EXPECT_EQ(settings->max_service_lifetime, absl::Hours(1));
    EXPECT_TRUE(settings->issuers.empty());
    EXPECT_EQ(settings->files_read.size(), 1u);
  }
}

TEST_F(TokenSettingsTest, ErrorsNameTheFileAndLine) {
  const std::string file = dir_ + "/settings.yaml:";
  EXPECT_THAT(ErrorOf("clock_skew_seconds: 5\nskew: 3\n"),
              AllOf(StartsWith(file + "2: "), HasSubstr("unknown key \"skew\"")));
  EXPECT_THAT(ErrorOf("max_lifetime_seconds:\n  untrusted: 60\n  guest: 5\n"),
              AllOf(StartsWith(file + "3: "),
                    HasSubstr("unknown key \"guest\" in max_lifetime_seconds")));
  EXPECT_THAT(ErrorOf("max_lifetime_seconds: {standard: 0}\n"),
              HasSubstr("max_lifetime_seconds.standard must be positive"));
  EXPECT_THAT(ErrorOf("max_lifetime_seconds: {standard: soon}\n"),
              HasSubstr("max_lifetime_seconds.standard is not a whole number"));
  EXPECT_THAT(ErrorOf("clock_skew_seconds: -1\n"),
              AllOf(StartsWith(file + "1: "), HasSubstr("between 0 and 3600")));
  EXPECT_THAT(ErrorOf("clock_skew_seconds: [1]\n"),
              HasSubstr("clock_skew_seconds is not a whole number"));
  EXPECT_THAT(ErrorOf("issuers: {a: b}\n"), HasSubstr("issuers is not a list"));
  EXPECT_THAT(ErrorOf("- a\n"), HasSubstr("not a map of keys"));

  const std::string jwks = JwkSetJson({es_});
  EXPECT_THAT(ErrorOf("issuers:\n  - jwks_file: a.json\n"),
              AllOf(StartsWith(file + "2: "), HasSubstr("has no \"issuer\"")));
  EXPECT_THAT(
      ErrorOf("issuers:\n  - issuer: x\n    jwks: " + jwks +
              "\n  - issuer: x\n    jwks: " + jwks + "\n"),
      AllOf(StartsWith(file + "4: "), HasSubstr("issuer \"x\" is listed twice")));
  Write("a.json", jwks);
  EXPECT_THAT(ErrorOf("issuers:\n  - issuer: x\n    jwks_file: a.json\n    "
                      "jwks: " +
                      jwks + "\n"),
              AllOf(StartsWith(file + "2: "),
                    HasSubstr("issuer \"x\" has both jwks and jwks_file")));
  EXPECT_THAT(ErrorOf("issuers:\n  - issuer: x\n"),
              HasSubstr("issuer \"x\" has neither jwks nor jwks_file"));
  EXPECT_THAT(ErrorOf("issuers:\n  - issuer: x\n    jwks_url: https://x\n"),
              AllOf(StartsWith(file + "3: "),
                    HasSubstr("unknown key \"jwks_url\" in an issuer entry")));
  EXPECT_THAT(
      ErrorOf("issuers:\n  - issuer: x\n    jwks_file: missing.json\n"),
      AllOf(StartsWith(file + "3: "), HasSubstr("cannot read jwks_file"),
            HasSubstr("missing.json")));
  EXPECT_THAT(ErrorOf("issuers:\n  - issuer: x\n    jwks:\n      keys:\n"
                      "        - {kty: oct, kid: h, k: c2VjcmV0}\n"),
              AllOf(StartsWith(file + "4: "),
                    HasSubstr("issuer \"x\": key 0 (kid \"h\"): it has the "
                              "private member \"k\"")));
  EXPECT_THAT(ErrorOf("issuers:\n  - issuer: x\n    jwks: \"not json\"\n"),
              HasSubstr("issuer \"x\": the JWK set is not valid JSON"));
  EXPECT_THAT(ErrorOf("issuers: [\n"), StartsWith(file));
}

TEST_F(TokenSettingsTest, JwksFileIsRelativeToTheSettingsFile) {
  ASSERT_EQ(std::system(("mkdir -p \"" + dir_ + "/keys\"").c_str()), 0);
  const std::string jwks_path = Write("keys/jwks.json", JwkSetJson({es_}));
  absl::StatusOr<TokenSettings> settings = LoadTokenSettings(
      Write("settings.yaml",
            "issuers:\n  - issuer: x\n    jwks_file: keys/jwks.json\n"
            "  - issuer: y\n    jwks_file: " +
                jwks_path + "\n"));
  ASSERT_TRUE(settings.ok()) << settings.status();
  EXPECT_EQ(settings->files_read.size(), 3u);
  EXPECT_EQ(settings->files_read[1], jwks_path);
  EXPECT_EQ(settings->files_read[2], jwks_path);
}

TEST_F(TokenSettingsTest, MissingFileIsNotFound) {
  absl::StatusOr<TokenSettings> settings =
      LoadTokenSettings(dir_ + "/absent.yaml");
  EXPECT_EQ(settings.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(settings.status().message(), HasSubstr("absent.yaml"));
}

}  // namespace
}  // namespace token
}  // namespace pdp
