// pdpctl check --token, filter --token and token inspect, with tokens minted
// at test time and the Acme example policy.

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pdp/token/testing/token_minter.h"
#include "tools/pdpctl/commands.h"
#include "tools/pdpctl/pdpctl_testing.h"

namespace pdpctl {
namespace {

using ::nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using pdp::token::JwsAlgorithm;
using pdp::token::TestSigningKey;

constexpr char kPolicy[] = "examples/policies/acme";
constexpr char kIssuer[] = "https://login.acme.example";

using Result = PdpctlResult;

class TokenCommandsTest : public ::testing::Test {
 protected:
  TokenCommandsTest()
      : dir_(std::getenv("TEST_TMPDIR")),
        key_(TestSigningKey::Generate(JwsAlgorithm::kRs256, "login-1")) {
    settings_ = dir_ + "/tokens.yaml";
    std::ofstream(settings_) << "issuers:\n  - issuer: " << kIssuer
                             << "\n    jwks: " << pdp::token::JwkSetJson({&key_})
                             << "\n";
  }

  // Writes a token for alice through acme-copilot to a file; returns it.
  std::string TokenFile(const std::string& name, json changes = json::object()) {
    const int64_t now = absl::ToUnixSeconds(absl::Now());
    json claims = {{"iss", kIssuer},
                   {"sub", "alice@acme.example"},
                   {"client_id", "acme-copilot"},
                   {"scope", "hr:salary:read"},
                   {"amr", {"otp"}},
                   {"aud", "https://hr.mcp.acme.example"},
                   {"iat", now},
                   {"exp", now + 600}};
    claims.merge_patch(changes);
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << MintToken(key_, claims) << "\n";
    return path;
  }

  std::string dir_;
  TestSigningKey key_;
  std::string settings_;
};

TEST_F(TokenCommandsTest, CheckWithATokenDecidesLikeTheAssertedChain) {
  Result asserted = RunPdpctl({"check", "--policy", kPolicy, "--user",
                               "alice@acme.example", "--client", "acme-copilot",
                               "--scopes", "hr:salary:read", "--amr", "otp",
                               "--tool", "hr.get_salary", "--json"});
  ASSERT_EQ(asserted.code, 0) << asserted.err;
  Result with_token =
      RunPdpctl({"check", "--policy", kPolicy, "--token", TokenFile("ok.jwt"),
                 "--token-settings", settings_, "--tool", "hr.get_salary",
                 "--json"});
  ASSERT_EQ(with_token.code, 0) << with_token.err;
  EXPECT_EQ(json::parse(with_token.out)["effect"], "ALLOW");
  EXPECT_EQ(json::parse(with_token.out), json::parse(asserted.out));
}

TEST_F(TokenCommandsTest, CheckNamesWhyATokenIsRefused) {
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  Result expired = RunPdpctl(
      {"check", "--policy", kPolicy, "--token",
       TokenFile("expired.jwt", {{"iat", now - 900}, {"exp", now - 300}}),
       "--token-settings", settings_, "--tool", "hr.get_salary"});
  EXPECT_EQ(expired.code, 0) << expired.err;  // A DENY is a decision.
  EXPECT_THAT(expired.out, HasSubstr("DENY"));
  EXPECT_THAT(expired.out, HasSubstr("TOKEN_EXPIRED"));

  Result crm = RunPdpctl({"check", "--policy", kPolicy, "--token",
                          TokenFile("hr.jwt"), "--token-settings", settings_,
                          "--tool", "crm.search_contacts"});
  EXPECT_THAT(crm.out, HasSubstr("TOKEN_AUDIENCE_MISMATCH"));

  Result no_settings = RunPdpctl({"check", "--policy", kPolicy, "--token",
                                  TokenFile("x.jwt"), "--tool", "hr.get_salary"});
  EXPECT_EQ(no_settings.code, 2);
  EXPECT_THAT(no_settings.err, HasSubstr("--token-settings"));

  Result both = RunPdpctl({"check", "--policy", kPolicy, "--token",
                           TokenFile("y.jwt"), "--token-settings", settings_,
                           "--user", "mallory", "--tool", "hr.get_salary"});
  EXPECT_EQ(both.code, 2);
  EXPECT_THAT(both.err, HasSubstr("chain.user_id"));
}

TEST_F(TokenCommandsTest, FilterWithAToken) {
  Result r = RunPdpctl({"filter", "--policy", kPolicy, "--token",
                        TokenFile("f.jwt"), "--token-settings", settings_,
                        "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  json tools = json::parse(r.out)["tools"];
  ASSERT_FALSE(tools.empty());
  for (const json& tool : tools) {
    EXPECT_EQ(tool["id"].get<std::string>().rfind("hr.", 0), 0u) << tool;
  }
}

TEST_F(TokenCommandsTest, InspectVerifiesAndExplains) {
  const std::string path = TokenFile("inspect.jwt");
  Result ok = RunPdpctl(
      {"token", "inspect", path, "--token-settings", settings_});
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("\"sub\": \"alice@acme.example\""));
  EXPECT_THAT(ok.out, HasSubstr("VERIFIED"));

  Result with_policy = RunPdpctl({"token", "inspect", path, "--token-settings",
                                  settings_, "--policy", kPolicy});
  EXPECT_EQ(with_policy.code, 0) << with_policy.err;
  EXPECT_THAT(with_policy.out, HasSubstr("usable on MCP servers: hr"));

  // Too long-lived for the client's trust: verified, then refused by policy.
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  Result long_lived = RunPdpctl(
      {"token", "inspect",
       TokenFile("long.jwt", {{"exp", now + 5 * 3600}}),
       "--token-settings", settings_, "--policy", kPolicy});
  EXPECT_EQ(long_lived.code, 1);
  EXPECT_THAT(long_lived.out, HasSubstr("TOKEN_LIFETIME_TOO_LONG"));

  // A tampered token: refused, with the reason, and not echoed whole.
  std::ifstream in(path);
  std::string token;
  in >> token;
  token[token.size() - 5] = token[token.size() - 5] == 'A' ? 'B' : 'A';
  std::ofstream(dir_ + "/tampered.jwt") << token;
  Result bad = RunPdpctl({"token", "inspect", dir_ + "/tampered.jwt",
                          "--token-settings", settings_});
  EXPECT_EQ(bad.code, 1);
  EXPECT_THAT(bad.out, HasSubstr("REFUSED TOKEN_INVALID"));
  EXPECT_THAT(bad.out, Not(HasSubstr(token.substr(token.size() - 20))));
}

TEST_F(TokenCommandsTest, InspectShowsTheDelegationAndTheProvidersRoles) {
  std::ofstream(settings_) << "issuers:\n  - issuer: " << kIssuer
                           << "\n    jwks: " << pdp::token::JwkSetJson({&key_})
                           << "\n    roles_claim: groups"
                           << "\n    roles: {Execs: executive, Ghosts: ghost-role}"
                           << "\n";
  const std::string path = TokenFile(
      "roles.jwt",
      {{"groups", {"Execs", "Everyone", "Ghosts"}},
       {"act", {{"sub", "sales-assistant"},
                {"act", {{"sub", "payroll-assistant"}}}}}});
  Result r = RunPdpctl({"token", "inspect", path, "--token-settings",
                        settings_, "--policy", kPolicy});
  EXPECT_THAT(r.out, HasSubstr("delegation: \"sales-assistant\" acting for "
                               "\"payroll-assistant\" acting for the user (2 "
                               "of at most 4 agents)"));
  EXPECT_THAT(r.out, HasSubstr("roles from the identity provider: "
                               "\"executive\", \"ghost-role\""));
  EXPECT_THAT(r.out, HasSubstr("groups that grant nothing (no mapping in the "
                               "token settings): \"Everyone\""));
  EXPECT_THAT(r.out, HasSubstr("mapped roles the policy does not define (they "
                               "grant nothing): \"ghost-role\""));
}

}  // namespace
}  // namespace pdpctl
