// What the verified-token cache really costs: verify many large tokens,
// then measure the heap that emptying the cache gives back, against the
// bytes the cache accounts. The per-entry costs printed here are those
// docs/operations.md gives.

#include <malloc.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pdp/token/jwk_set.h"
#include "pdp/token/testing/token_minter.h"
#include "pdp/token/token_verifier.h"

namespace pdp {
namespace token {
namespace {

constexpr char kIssuer[] = "https://auth.acme.example";
constexpr int64_t kNow = 1795000000;

size_t HeapInUse() {
  struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

struct Measured {
  size_t cached;  // Tokens in the cache.
  size_t accounted_per_entry;
  double measured_per_entry;
};

// Verifies `count` tokens whose scope claim has `scopes` scopes of `width`
// characters each, and measures the cache.
Measured Measure(const TestSigningKey& key, int count, int scopes,
                 int width, size_t max_bytes) {
  std::vector<std::string> tokens;
  for (int i = 0; i < count; ++i) {
    std::string scope;
    for (int k = 0; k < scopes; ++k) {
      absl::StrAppend(&scope, k == 0 ? "" : " ",
                      std::string(width - 1, 'a' + k % 26), k % 10);
    }
    tokens.push_back(MintToken(
        key, {{"iss", kIssuer},
              {"sub", absl::StrCat("user-", i, "@acme.example")},
              {"client_id", "claude-desktop"},
              {"scope", scope},
              {"amr", {"pwd", "otp"}},
              {"aud", {"https://crm.acme.example"}},
              {"jti", absl::StrCat("jti-", i)},
              {"iat", kNow - 10},
              {"exp", kNow + 600}}));
  }
  TokenVerifierOptions options;
  options.cache_entries = 1000000;
  options.cache_max_bytes = max_bytes;
  TokenVerifier verifier(options);
  verifier.SetIssuers(
      {{kIssuer, *JwkSet::Parse(JwkSetJson({&key}))}});
  for (const std::string& token : tokens) {
    TokenVerifier::Result result =
        verifier.Verify(token, absl::FromUnixSeconds(kNow));
    EXPECT_TRUE(result.ok()) << result.rejection.message;
  }
  const size_t cached = verifier.CachedTokens();
  const size_t accounted = verifier.CachedBytes();
  EXPECT_LE(accounted, max_bytes);
  // Replacing the issuers empties the cache (and keeps the same issuers).
  const size_t before = HeapInUse();
  verifier.SetIssuers({{kIssuer, *JwkSet::Parse(JwkSetJson({&key}))}});
  const size_t after = HeapInUse();
  EXPECT_EQ(verifier.CachedTokens(), 0u);
  if (cached == 0) return {0, 0, 0.0};
  return {cached, accounted / cached,
          before > after ? static_cast<double>(before - after) / cached
                         : 0.0};
}

TEST(TokenCacheMemoryTest, AccountedBytesMatchTheHeap) {
  const TestSigningKey key =
      TestSigningKey::Generate(JwsAlgorithm::kEdDsa, "ed1");
  struct Case {
    const char* name;
    int scopes, width;
  } cases[] = {{"typical (~600-byte token)", 5, 12},
               {"large (~15 KB token, long scopes)", 100, 110},
               {"many short scopes (~15 KB token)", 2500, 3}};
  for (const Case& c : cases) {
    Measured m = Measure(key, 2000, c.scopes, c.width, size_t{1} << 30);
    EXPECT_EQ(m.cached, 2000u) << c.name;
    std::cerr << "token cache, " << c.name << ": " << m.accounted_per_entry
              << " bytes accounted per entry, " << m.measured_per_entry
              << " measured\n";
    EXPECT_GT(m.accounted_per_entry, m.measured_per_entry * 0.75) << c.name;
    EXPECT_LT(m.accounted_per_entry, m.measured_per_entry * 1.5) << c.name;
  }
}

TEST(TokenCacheMemoryTest, LargeTokensStayWithinTheBudget) {
  const TestSigningKey key =
      TestSigningKey::Generate(JwsAlgorithm::kEdDsa, "ed1");
  // 300 tokens of ~15 KB (~33 KB cached) with a 2 MiB budget: a few dozen
  // fit (Measure checks the accounted bytes stay within the budget), and
  // they really take about what is accounted.
  Measured m = Measure(key, 300, 100, 110, size_t{2} << 20);
  EXPECT_GT(m.cached, 20u);
  EXPECT_LT(m.cached, 70u);
  EXPECT_GT(m.accounted_per_entry, m.measured_per_entry * 0.75);
  EXPECT_LT(m.accounted_per_entry, m.measured_per_entry * 1.5);
}

}  // namespace
}  // namespace token
}  // namespace pdp
