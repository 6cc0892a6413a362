#include "pdp/chain_tokens.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pdp/evaluator.h"
#include "pdp/names.h"
#include "pdp/testing/compile.h"
#include "pdp/token/testing/token_minter.h"
#include "pdp/token/thumbprint.h"

namespace pdp {
namespace {

using ::nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using token::JwsAlgorithm;
using token::TestSigningKey;

constexpr char kPolicy[] = R"(
servers:
  - id: crm
    audiences: ["https://crm.mcp.example"]
tools:
  - id: crm.search_contacts
    scopes: [contacts:read]
  - id: crm.import_contacts
    scopes: [contacts:write]
  - id: hr.get_salary
    scopes: [hr:read]
    auth: mfa
roles:
  - id: executive
    tools: ["crm.*", "hr.*"]
  - id: reader
    tools: ["crm.search_contacts"]
agents:
  - id: sales-assistant
    tools: ["crm.*"]
    autonomous: true
  - id: payroll-assistant
    tools: ["hr.*"]
  - id: crm-helper
    tools: ["crm.search_contacts"]
    autonomous: true
clients:
  - id: desktop
    trust: standard
    scopes: [contacts:read, hr:read]
  - id: bound-app
    trust: trusted
    scopes: [contacts:read]
    require_bound_tokens: true
services:
  - id: importer
    tools: ["crm.*"]
    scopes: [contacts:read, contacts:write]
users:
  - id: alice
    roles: [executive]
)";

constexpr char kIssuer[] = "https://auth.example";
constexpr char kCrm[] = "https://crm.mcp.example";

class ChainTokensTest : public ::testing::Test {
 protected:
  ChainTokensTest() : key_(TestSigningKey::Generate(JwsAlgorithm::kEs256, "k1")) {
    absl::StatusOr<std::shared_ptr<const Snapshot>> compiled =
        testgen::CompileYaml(kPolicy);
    EXPECT_TRUE(compiled.ok()) << compiled.status();
    if (compiled.ok()) snapshot_ = *std::move(compiled);
    std::vector<token::TrustedIssuer> issuers(1);
    issuers[0].issuer = kIssuer;
    issuers[0].keys = *token::JwkSet::Parse(token::JwkSetJson({&key_}));
    settings_.issuers = issuers;
    verifier_.SetIssuers(issuers);
  }

  // Claims of a valid access token for alice through desktop, 10 minutes.
  json AccessClaims() const {
    const int64_t now = absl::ToUnixSeconds(now_);
    return {{"iss", kIssuer},     {"sub", "alice"},
            {"client_id", "desktop"}, {"scope", "contacts:read hr:read"},
            {"aud", kCrm},        {"amr", {"pwd", "otp"}},
            {"iat", now - 60},    {"exp", now + 540}};
  }

  absl::StatusOr<Chain> Apply(const ChainTokens& tokens, Chain asserted = {}) {
    return ApplyTokens(*snapshot_, verifier_, settings_, tokens,
                       std::move(asserted), now_);
  }

  // The decision for `tool` of the chain the tokens make.
  Decision Decide(const ChainTokens& tokens, const std::string& tool) {
    absl::StatusOr<Chain> chain = Apply(tokens);
    EXPECT_TRUE(chain.ok()) << chain.status();
    absl::StatusOr<Decision> d = Check(*snapshot_, {*chain, tool});
    EXPECT_TRUE(d.ok()) << d.status();
    return *d;
  }

  static std::vector<std::string> Codes(const Decision& d) {
    std::vector<std::string> codes;
    for (const Reason& r : d.reasons) codes.emplace_back(ReasonCodeName(r.code));
    return codes;
  }

  const absl::Time now_ = absl::FromUnixSeconds(1795000000);
  TestSigningKey key_;
  std::shared_ptr<const Snapshot> snapshot_;
  token::TokenSettings settings_;
  token::TokenVerifier verifier_;
};

TEST_F(ChainTokensTest, AccessTokenGivesTheDelegatedChain) {
  json claims = AccessClaims();
  claims["act"] = {{"sub", "sales-assistant"}};
  claims["aud"] = {kCrm, "hr"};
  absl::StatusOr<Chain> chain = Apply({.access_token = MintToken(key_, claims)});
  ASSERT_TRUE(chain.ok()) << chain.status();
  EXPECT_EQ(chain->user_id, "alice");
  EXPECT_EQ(chain->client_id, "desktop");
  EXPECT_EQ(chain->agent_id, "sales-assistant");
  EXPECT_THAT(chain->scopes, ElementsAre("contacts:read", "hr:read"));
  EXPECT_THAT(chain->amr, ElementsAre("pwd", "otp"));
  EXPECT_THAT(chain->token_problems, IsEmpty());
  ASSERT_EQ(chain->token_audiences.size(), 1u);
  EXPECT_EQ(chain->token_audiences[0].link, v1::LINK_CLIENT);

  // It decides like the same chain asserted.
  Chain asserted;
  asserted.user_id = "alice";
  asserted.client_id = "desktop";
  asserted.agent_id = "sales-assistant";
  asserted.scopes = {"contacts:read", "hr:read"};
  asserted.amr = {"pwd", "otp"};
  for (const char* tool : {"crm.search_contacts", "hr.get_salary"}) {
    Decision from_token = *Check(*snapshot_, {*chain, tool});
    Decision from_ids = *Check(*snapshot_, {asserted, tool});
    EXPECT_EQ(from_token.effect, from_ids.effect) << tool;
    EXPECT_EQ(Codes(from_token), Codes(from_ids)) << tool;
  }
  EXPECT_EQ(Check(*snapshot_, {*chain, "crm.search_contacts"})->effect,
            v1::EFFECT_ALLOW);
}

TEST_F(ChainTokensTest, AudienceIsTheToolsServer) {
  // crm declares its resource URI; hr is undeclared and accepts "hr" only.
  const std::string token = MintToken(key_, AccessClaims());
  EXPECT_EQ(Decide({.access_token = token}, "crm.search_contacts").effect,
            v1::EFFECT_ALLOW);
  Decision hr = Decide({.access_token = token}, "hr.get_salary");
  EXPECT_THAT(Codes(hr), ElementsAre("TOKEN_AUDIENCE_MISMATCH"));
  EXPECT_EQ(hr.reasons[0].link, v1::LINK_CLIENT);

  json claims = AccessClaims();
  claims["aud"] = {kCrm, "hr"};
  EXPECT_EQ(Decide({.access_token = MintToken(key_, claims)}, "hr.get_salary")
                .effect,
            v1::EFFECT_ALLOW);
}

TEST_F(ChainTokensTest, RejectedTokenIsADenyNamingWhy) {
  json claims = AccessClaims();
  claims["iat"] = absl::ToUnixSeconds(now_) - 3900;
  claims["exp"] = absl::ToUnixSeconds(now_) - 3600;
  const std::string token = MintToken(key_, claims);
  absl::StatusOr<Chain> chain = Apply({.access_token = token});
  ASSERT_TRUE(chain.ok());
  EXPECT_TRUE(chain->user_id.empty());
  Decision d = *Check(*snapshot_, {*chain, "crm.search_contacts"});
  EXPECT_EQ(d.effect, v1::EFFECT_DENY);
  EXPECT_THAT(Codes(d), ElementsAre("TOKEN_EXPIRED"));
  EXPECT_EQ(d.reasons[0].link, v1::LINK_CLIENT);
  EXPECT_THAT(d.reasons[0].message, Not(HasSubstr(token.substr(0, 20))));

  claims = AccessClaims();
  claims["iss"] = "https://evil.example";
  EXPECT_THAT(Codes(Decide({.access_token = MintToken(key_, claims)},
                           "crm.search_contacts")),
              ElementsAre("ISSUER_UNTRUSTED"));
}

TEST_F(ChainTokensTest, LifetimeIsBoundedByTheClientsTrust) {
  // desktop is "standard": 1 hour by default; 5 minutes for unregistered.
  json claims = AccessClaims();
  claims["exp"] = claims["iat"].get<int64_t>() + 2 * 3600;
  Decision d =
      Decide({.access_token = MintToken(key_, claims)}, "crm.search_contacts");
  EXPECT_THAT(Codes(d), ElementsAre("TOKEN_LIFETIME_TOO_LONG"));
  EXPECT_THAT(d.reasons[0].message, HasSubstr("standard"));

  settings_.max_lifetime[v1::CLIENT_TRUST_STANDARD] = absl::Hours(3);
  EXPECT_EQ(Decide({.access_token = MintToken(key_, claims)},
                   "crm.search_contacts").effect,
            v1::EFFECT_ALLOW);

  claims = AccessClaims();  // 10 minutes, for an unregistered client.
  claims["client_id"] = "rogue";
  EXPECT_THAT(Codes(Decide({.access_token = MintToken(key_, claims)},
                           "crm.search_contacts")),
              ElementsAre("TOKEN_LIFETIME_TOO_LONG", "CLIENT_NOT_REGISTERED"));
}

TEST_F(ChainTokensTest, CertificateBinding) {
  const std::string cert = token::SelfSignedCertificatePem("app");
  const std::string other = token::SelfSignedCertificatePem("other");
  json claims = AccessClaims();
  claims["cnf"] = {{"x5t#S256", *token::CertificateThumbprint(cert)}};
  const std::string bound = MintToken(key_, claims);

  EXPECT_EQ(Decide({.access_token = bound, .client_certificate = cert},
                   "crm.search_contacts").effect,
            v1::EFFECT_ALLOW);
  EXPECT_EQ(Decide({.access_token = bound,
                    .client_certificate_sha256 =
                        *token::CertificateThumbprint(cert)},
                   "crm.search_contacts").effect,
            v1::EFFECT_ALLOW);
  for (const ChainTokens& presented :
       {ChainTokens{.access_token = bound},
        ChainTokens{.access_token = bound, .client_certificate = other},
        ChainTokens{.access_token = bound, .client_certificate = "garbage"},
        ChainTokens{.access_token = bound,
                    .client_certificate = cert,
                    .client_certificate_sha256 =
                        *token::CertificateThumbprint(other)}}) {
    Decision d = Decide(presented, "crm.search_contacts");
    EXPECT_THAT(Codes(d), ElementsAre("TOKEN_BINDING_MISMATCH"));
    EXPECT_EQ(d.reasons[0].link, v1::LINK_CLIENT);
  }
}

TEST_F(ChainTokensTest, DpopBindingAndClientsThatRequireIt) {
  json claims = AccessClaims();
  claims["cnf"] = {{"jkt", "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}};
  const std::string bound = MintToken(key_, claims);
  EXPECT_EQ(Decide({.access_token = bound,
                    .dpop_jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"},
                   "crm.search_contacts").effect,
            v1::EFFECT_ALLOW);
  EXPECT_THAT(Codes(Decide({.access_token = bound, .dpop_jkt = "other"},
                           "crm.search_contacts")),
              ElementsAre("TOKEN_BINDING_MISMATCH"));

  // bound-app is registered with require_bound_tokens.
  claims = AccessClaims();
  claims["client_id"] = "bound-app";
  claims["scope"] = "contacts:read";
  Decision unbound =
      Decide({.access_token = MintToken(key_, claims)}, "crm.search_contacts");
  EXPECT_THAT(Codes(unbound), ElementsAre("TOKEN_BINDING_MISMATCH"));
  EXPECT_THAT(unbound.reasons[0].message, HasSubstr("unbound"));
  claims["cnf"] = {{"jkt", "abc"}};
  EXPECT_EQ(Decide({.access_token = MintToken(key_, claims), .dpop_jkt = "abc"},
                   "crm.search_contacts").effect,
            v1::EFFECT_ALLOW);
}

TEST_F(ChainTokensTest, AgentAndServiceTokens) {
  const int64_t now = absl::ToUnixSeconds(now_);
  json agent = {{"iss", kIssuer}, {"sub", "sales-assistant"}, {"aud", kCrm},
                {"iat", now},     {"exp", now + 600}};
  json access = AccessClaims();
  access["act"] = {{"sub", "sales-assistant"}};
  absl::StatusOr<Chain> chain = Apply({.access_token = MintToken(key_, access),
                                       .agent_token = MintToken(key_, agent)});
  ASSERT_TRUE(chain.ok()) << chain.status();
  EXPECT_EQ(chain->agent_id, "sales-assistant");
  EXPECT_THAT(chain->token_problems, IsEmpty());
  EXPECT_EQ(chain->token_audiences.size(), 2u);

  // The agent token must be for the agent the access token names.
  access["act"] = {{"sub", "other-agent"}};
  chain = Apply({.access_token = MintToken(key_, access),
                 .agent_token = MintToken(key_, agent)});
  ASSERT_TRUE(chain.ok());
  ASSERT_EQ(chain->token_problems.size(), 1u);
  EXPECT_EQ(chain->token_problems[0].link, v1::LINK_AGENT);
  EXPECT_EQ(chain->token_problems[0].code, v1::Reason::TOKEN_INVALID);

  // A service chain from the service's token; too long-lived is refused.
  json service = {{"iss", kIssuer}, {"sub", "importer"}, {"aud", kCrm},
                  {"scope", "contacts:read"}, {"iat", now},
                  {"exp", now + 600}};
  EXPECT_EQ(Decide({.service_token = MintToken(key_, service)},
                   "crm.search_contacts").effect,
            v1::EFFECT_ALLOW);
  service["exp"] = now + 3 * 3600;
  Decision d =
      Decide({.service_token = MintToken(key_, service)}, "crm.search_contacts");
  EXPECT_THAT(Codes(d), ElementsAre("TOKEN_LIFETIME_TOO_LONG"));
  EXPECT_EQ(d.reasons[0].link, v1::LINK_SERVICE);
}

// DESIGN §2: a service token's scope bounds the service's registered
// scopes (T.scopes - (V.scopes & token scopes)); an asserted service id
// keeps V.scopes.
TEST_F(ChainTokensTest, AServiceTokensScopesBoundTheService) {
  const int64_t now = absl::ToUnixSeconds(now_);
  json service = {{"iss", kIssuer}, {"sub", "importer"}, {"aud", kCrm},
                  {"scope", "contacts:read"}, {"iat", now},
                  {"exp", now + 600}};
  Decision d = Decide({.service_token = MintToken(key_, service)},
                      "crm.import_contacts");
  EXPECT_THAT(Codes(d), ElementsAre("MISSING_SCOPE"));
  EXPECT_EQ(d.reasons[0].link, v1::LINK_SERVICE);
  EXPECT_THAT(d.reasons[0].missing_scopes, ElementsAre("contacts:write"));
  EXPECT_THAT(d.reasons[0].message, HasSubstr("the token of service"));

  service["scope"] = "contacts:write";
  EXPECT_EQ(Decide({.service_token = MintToken(key_, service)},
                   "crm.import_contacts").effect,
            v1::EFFECT_ALLOW);
  // FilterTools agrees: only the tool the token's scope reaches.
  absl::StatusOr<Chain> chain =
      Apply({.service_token = MintToken(key_, service)});
  ASSERT_TRUE(chain.ok());
  auto visible = FilterTools(*snapshot_, *chain, {"crm", {}});
  ASSERT_TRUE(visible.ok());
  ASSERT_EQ(visible->size(), 1u);
  EXPECT_EQ(snapshot_->tools()[(*visible)[0].tool].id, "crm.import_contacts");

  // No scope claim: the token grants no scope.
  service.erase("scope");
  EXPECT_THAT(Codes(Decide({.service_token = MintToken(key_, service)},
                           "crm.import_contacts")),
              ElementsAre("MISSING_SCOPE"));

  // Asserted scopes next to a service token are one link given twice.
  Chain asserted;
  asserted.scopes = {"contacts:write"};
  EXPECT_EQ(Apply({.service_token = MintToken(key_, service)}, asserted)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);

  // An asserted service id keeps the service's registered scopes.
  Chain importer;
  importer.service_id = "importer";
  absl::StatusOr<Decision> asserted_decision =
      Check(*snapshot_, {importer, "crm.import_contacts"});
  ASSERT_TRUE(asserted_decision.ok());
  EXPECT_EQ(asserted_decision->effect, v1::EFFECT_ALLOW);
}

// DESIGN §2: every hop of a nested act claim is an agent of the chain; the
// chain may do only what every hop may, and a too long delegation is
// refused.
TEST_F(ChainTokensTest, EveryHopOfADelegationCounts) {
  json claims = AccessClaims();
  claims["act"] = {{"sub", "sales-assistant"},
                   {"act", {{"sub", "payroll-assistant"}}}};
  absl::StatusOr<Chain> chain = Apply({.access_token = MintToken(key_, claims)});
  ASSERT_TRUE(chain.ok()) << chain.status();
  EXPECT_EQ(chain->agent_id, "sales-assistant");
  EXPECT_THAT(chain->delegated_agents, ElementsAre("payroll-assistant"));
  // Before: decided as if only sales-assistant acted (ALLOW).
  Decision d = Decide({.access_token = MintToken(key_, claims)},
                      "crm.search_contacts");
  EXPECT_THAT(Codes(d), ElementsAre("AGENT_NOT_PERMITTED"));
  EXPECT_THAT(d.reasons[0].message,
              HasSubstr("agent \"payroll-assistant\" (delegation hop 2 of 2)"));

  // Autonomy is every hop's: payroll-assistant needs a human.
  claims["act"] = {{"sub", "crm-helper"},
                   {"act", {{"sub", "sales-assistant"}}}};
  chain = Apply({.access_token = MintToken(key_, claims)});
  ASSERT_TRUE(chain.ok());
  chain->autonomous = true;
  absl::StatusOr<Decision> autonomous =
      Check(*snapshot_, {*chain, "crm.search_contacts"});
  ASSERT_TRUE(autonomous.ok());
  EXPECT_EQ(autonomous->effect, v1::EFFECT_ALLOW);

  // An unknown hop is named.
  claims["act"] = {{"sub", "sales-assistant"}, {"act", {{"sub", "ghost"}}}};
  d = Decide({.access_token = MintToken(key_, claims)}, "crm.search_contacts");
  EXPECT_THAT(Codes(d), ElementsAre("AGENT_UNKNOWN"));
  EXPECT_THAT(d.reasons[0].message, HasSubstr("\"ghost\""));

  // More hops than max_delegation_depth.
  json act = {{"sub", "crm-helper"}};
  for (int i = 0; i < 4; ++i) act = {{"sub", "sales-assistant"}, {"act", act}};
  claims["act"] = act;  // 5 agents; the default allows 4.
  d = Decide({.access_token = MintToken(key_, claims)}, "crm.search_contacts");
  EXPECT_THAT(Codes(d), ElementsAre("DELEGATION_TOO_DEEP"));
  EXPECT_EQ(d.reasons[0].link, v1::LINK_AGENT);
  settings_.max_delegation_depth = 5;
  d = Decide({.access_token = MintToken(key_, claims)}, "crm.search_contacts");
  EXPECT_EQ(d.effect, v1::EFFECT_ALLOW);
}

// DESIGN §2: an issuer's roles claim, mapped to policy roles, replaces the
// roles the policy (or the directory) gives the user.
TEST_F(ChainTokensTest, RolesFromTheIdentityProviderReplaceThePolicys) {
  std::vector<token::TrustedIssuer> issuers = settings_.issuers;
  issuers[0].roles_claim = "groups";
  issuers[0].roles = {{"CRM-Readers", {"reader"}}};
  verifier_.SetIssuers(issuers);
  json claims = AccessClaims();
  claims["aud"] = {kCrm, "hr"};
  claims["groups"] = {"CRM-Readers", "Everyone"};
  absl::StatusOr<Chain> chain = Apply({.access_token = MintToken(key_, claims)});
  ASSERT_TRUE(chain.ok()) << chain.status();
  EXPECT_TRUE(chain->roles_from_idp);
  EXPECT_THAT(chain->asserted_roles, ElementsAre("reader"));
  // alice is an executive in the policy; the provider says reader only.
  EXPECT_EQ(Decide({.access_token = MintToken(key_, claims)},
                   "crm.search_contacts").effect,
            v1::EFFECT_ALLOW);
  EXPECT_THAT(Codes(Decide({.access_token = MintToken(key_, claims)},
                           "hr.get_salary")),
              ElementsAre("USER_NOT_PERMITTED"));
  // No group that maps: no role at all, not the policy's.
  claims["groups"] = {"Everyone"};
  EXPECT_THAT(Codes(Decide({.access_token = MintToken(key_, claims)},
                           "crm.search_contacts")),
              ElementsAre("USER_NOT_PERMITTED"));
  // Roles asserted next to such a token are one link given twice.
  Chain asserted;
  asserted.asserted_roles = {"executive"};
  EXPECT_EQ(
      Apply({.access_token = MintToken(key_, claims)}, asserted).status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST_F(ChainTokensTest, ALinkComesFromATokenOrAnAssertion) {
  const std::string token = MintToken(key_, AccessClaims());
  Chain asserted;
  asserted.user_id = "mallory";
  absl::StatusOr<Chain> chain = Apply({.access_token = token}, asserted);
  EXPECT_EQ(chain.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(chain.status().message(), HasSubstr("chain.user_id"));

  EXPECT_FALSE(Apply({.access_token = token, .service_token = token}).ok());
  asserted = {};
  asserted.service_id = "importer";
  EXPECT_FALSE(Apply({.service_token = token}, asserted).ok());

  // An asserted agent must agree with the token's act claim.
  json claims = AccessClaims();
  claims["act"] = {{"sub", "sales-assistant"}};
  asserted = {};
  asserted.agent_id = "someone-else";
  chain = Apply({.access_token = MintToken(key_, claims)}, asserted);
  ASSERT_TRUE(chain.ok());
  ASSERT_EQ(chain->token_problems.size(), 1u);
  EXPECT_EQ(chain->token_problems[0].link, v1::LINK_AGENT);
}

// Mutated tokens, end to end through ApplyTokens and Check: nothing
// crashes, no mutation is ever ALLOW, and every DENY names the token.
TEST_F(ChainTokensTest, MutatedTokensAreNeverAllowed) {
  const std::string original = MintToken(key_, AccessClaims());
  ASSERT_EQ(Decide({.access_token = original}, "crm.search_contacts").effect,
            v1::EFFECT_ALLOW);
  uint64_t state = 0x9e3779b97f4a7c15;
  auto next = [&state](uint64_t bound) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state % bound;
  };
  const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ";
  int mutated = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string token = original;
    for (int edits = 1 + next(3); edits > 0; --edits) {
      const size_t at = next(token.size());
      switch (next(4)) {
        case 0: token[at] = alphabet[next(alphabet.size())]; break;
        case 1: token.erase(at, 1 + next(8)); break;
        case 2: token.insert(at, 1, alphabet[next(alphabet.size())]); break;
        default: token.resize(at); break;
      }
      if (token.empty()) token = ".";
    }
    if (token == original) continue;
    ++mutated;
    absl::StatusOr<Chain> chain = Apply({.access_token = token});
    ASSERT_TRUE(chain.ok()) << chain.status();
    ASSERT_FALSE(chain->token_problems.empty()) << "mutation #" << i;
    absl::StatusOr<Decision> d = Check(*snapshot_, {*chain, "crm.search_contacts"});
    ASSERT_TRUE(d.ok()) << d.status();
    ASSERT_EQ(d->effect, v1::EFFECT_DENY) << "mutation #" << i;
    ASSERT_EQ(d->reasons[0].link, v1::LINK_CLIENT);
    if (token.size() > 40) {  // Short fragments may occur in any sentence.
      ASSERT_THAT(d->reasons[0].message, Not(HasSubstr(token.substr(0, 40))));
    }
  }
  EXPECT_GT(mutated, 2900);
}

}  // namespace
}  // namespace pdp
