#include "pdp/server/token_trust.h"

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pdp/token/testing/token_minter.h"

namespace pdp::server {
namespace {

using token::JwsAlgorithm;
using token::TestSigningKey;

constexpr char kIssuer[] = "https://login.example";

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

class TokenTrustTest : public ::testing::Test {
 protected:
  TokenTrustTest()
      : dir_(absl::StrCat(std::getenv("TEST_TMPDIR"), "/",
                          ::testing::UnitTest::GetInstance()
                              ->current_test_info()
                              ->name())),
        old_key_(TestSigningKey::Generate(JwsAlgorithm::kEdDsa, "old")),
        new_key_(TestSigningKey::Generate(JwsAlgorithm::kEs256, "new")) {
    std::string mkdir = "mkdir -p " + dir_;
    EXPECT_EQ(std::system(mkdir.c_str()), 0);
    config_.settings = dir_ + "/tokens.yaml";
    config_.reload_interval_seconds = 3600;  // The test reloads by hand.
  }

  void WriteSettings(const TestSigningKey& key,
                     const std::string& extra = "") {
    WriteFile(dir_ + "/jwks.json", token::JwkSetJson({&key}));
    WriteFile(config_.settings,
              absl::StrCat(extra, "issuers:\n  - issuer: ", kIssuer,
                           "\n    jwks_file: jwks.json\n"));
  }

  static std::string Mint(const TestSigningKey& key) {
    const int64_t now = absl::ToUnixSeconds(absl::Now());
    return MintToken(key, {{"iss", kIssuer},
                           {"sub", "alice"},
                           {"iat", now},
                           {"exp", now + 300}});
  }

  static bool Verifies(const TokenTrust& trust, const std::string& token) {
    return trust.current().verifier->Verify(token, absl::Now()).ok();
  }

  std::string dir_;
  ServerConfig::Tokens config_;
  TestSigningKey old_key_, new_key_;
};

TEST_F(TokenTrustTest, NoSettingsTrustsNoIssuer) {
  absl::StatusOr<std::unique_ptr<TokenTrust>> trust =
      TokenTrust::Start(ServerConfig::Tokens{});
  ASSERT_TRUE(trust.ok()) << trust.status();
  token::TokenVerifier::Result result =
      (*trust)->current().verifier->Verify(Mint(old_key_), absl::Now());
  EXPECT_EQ(result.rejection.code, v1::Reason::ISSUER_UNTRUSTED);
}

TEST_F(TokenTrustTest, BadSettingsStopTheStart) {
  WriteFile(config_.settings, "issuers:\n  - issuer: x\n    jwks_file: nope\n");
  absl::StatusOr<std::unique_ptr<TokenTrust>> trust = TokenTrust::Start(config_);
  EXPECT_FALSE(trust.ok());
  EXPECT_THAT(std::string(trust.status().message()),
              testing::HasSubstr("cannot read jwks_file"));
}

TEST_F(TokenTrustTest, ReloadsWhenAFileChanges) {
  WriteSettings(old_key_);
  absl::StatusOr<std::unique_ptr<TokenTrust>> started =
      TokenTrust::Start(config_);
  ASSERT_TRUE(started.ok()) << started.status();
  TokenTrust& trust = **started;
  EXPECT_TRUE(Verifies(trust, Mint(old_key_)));
  EXPECT_FALSE(Verifies(trust, Mint(new_key_)));
  EXPECT_TRUE(trust.ReloadIfChanged().ok());  // Nothing changed.

  // Key rotation: the JWK set file now holds the new key only, and the
  // settings a new clock skew.
  WriteSettings(new_key_, "clock_skew_seconds: 5\n");
  ASSERT_TRUE(trust.ReloadIfChanged().ok());
  EXPECT_TRUE(Verifies(trust, Mint(new_key_)));
  EXPECT_FALSE(Verifies(trust, Mint(old_key_)));
  EXPECT_EQ(trust.current().settings->clock_skew, absl::Seconds(5));

  // A broken file is reported; the settings in force stay.
  WriteFile(dir_ + "/jwks.json", "{not json");
  EXPECT_FALSE(trust.ReloadIfChanged().ok());
  EXPECT_TRUE(Verifies(trust, Mint(new_key_)));
}

}  // namespace
}  // namespace pdp::server
