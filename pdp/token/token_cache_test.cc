#include "pdp/token/token_cache.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "pdp/token/token_verifier.h"

namespace pdp {
namespace token {
namespace internal {
namespace {

std::shared_ptr<const VerifiedToken> Claims(const std::string& subject) {
  auto token = std::make_shared<VerifiedToken>();
  token->subject = subject;
  return token;
}

uint64_t CollidingHash(absl::string_view) { return 42; }

TEST(TokenCacheTest, FindsWhatWasInserted) {
  TokenCache cache(100);
  EXPECT_EQ(cache.Find("a.b.c"), nullptr);
  auto claims = Claims("alice");
  cache.Insert("a.b.c", claims);
  EXPECT_EQ(cache.Find("a.b.c"), claims);
  EXPECT_EQ(cache.Find("a.b.d"), nullptr);
  cache.Erase("a.b.c");
  EXPECT_EQ(cache.Find("a.b.c"), nullptr);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(TokenCacheTest, ACollisionIsOnlyAMiss) {
  TokenCache cache(100, &CollidingHash);
  cache.Insert("token-a", Claims("alice"));
  // Same hash, other token: never alice's claims.
  EXPECT_EQ(cache.Find("token-b"), nullptr);
  cache.Erase("token-b");  // Does not erase token-a.
  ASSERT_NE(cache.Find("token-a"), nullptr);
  cache.Insert("token-b", Claims("bob"));
  EXPECT_EQ(cache.Find("token-a"), nullptr);
  ASSERT_NE(cache.Find("token-b"), nullptr);
  EXPECT_EQ(cache.Find("token-b")->subject, "bob");
  EXPECT_EQ(cache.size(), 1u);
}

TEST(TokenCacheTest, StaysBoundedAndForgetsTheOldest) {
  for (size_t capacity : {1, 3, 16, 17, 100}) {
    TokenCache cache(capacity);
    for (int i = 0; i < 1000; ++i) {
      cache.Insert(absl::StrCat("token-", i), Claims(absl::StrCat(i)));
      ASSERT_LE(cache.size(), capacity);
    }
    // The newest entry is always kept.
    ASSERT_NE(cache.Find("token-999"), nullptr);
    EXPECT_EQ(cache.Find("token-999")->subject, "999");
    EXPECT_EQ(cache.Find("token-0"), nullptr);
  }
  // Erasures and re-insertions do not let it grow.
  TokenCache cache(8);
  for (int i = 0; i < 1000; ++i) {
    const std::string token = absl::StrCat("token-", i % 50);
    cache.Insert(token, Claims(token));
    if (i % 3 == 0) cache.Erase(token);
    ASSERT_LE(cache.size(), 8u);
  }
}

TEST(TokenCacheTest, ZeroCapacityHoldsNothing) {
  TokenCache cache(0);
  cache.Insert("a", Claims("alice"));
  EXPECT_EQ(cache.Find("a"), nullptr);
  cache.Erase("a");
  EXPECT_EQ(cache.size(), 0u);
}

// Large tokens: what the cache holds stays within its byte budget, counting
// each token's own bytes and its claims', and the newest token is kept.
TEST(TokenCacheTest, LargeTokensStayWithinTheByteBudget) {
  constexpr size_t kBudget = 1 << 20;
  TokenCache cache(/*capacity=*/100000, size_t{kBudget});
  for (int i = 0; i < 500; ++i) {
    std::string token = absl::StrCat("token-", i, ".", std::string(15000, 'x'));
    cache.Insert(token, Claims(absl::StrCat(i)), /*claims_bytes=*/12000);
    ASSERT_LE(cache.bytes(), kBudget) << i;
    ASSERT_NE(cache.Find(token), nullptr) << i;
  }
  // Each entry costs at least its token and claims: no more than fit.
  EXPECT_LE(cache.size(), kBudget / 27000);
  EXPECT_GE(cache.bytes(), cache.size() * 27000);
  // Erasing gives the bytes back.
  const size_t before = cache.bytes();
  cache.Erase(absl::StrCat("token-499.", std::string(15000, 'x')));
  EXPECT_LT(cache.bytes(), before);

  // A token bigger than a shard's share of the budget is not stored.
  TokenCache small(/*capacity=*/100, /*max_bytes=*/size_t{16 * 4096});
  const std::string big(8192, 'b');
  small.Insert(big, Claims("big"));
  EXPECT_EQ(small.Find(big), nullptr);
  EXPECT_EQ(small.bytes(), 0u);
  // A zero budget holds nothing.
  TokenCache none(/*capacity=*/100, /*max_bytes=*/size_t{0});
  none.Insert("a", Claims("alice"));
  EXPECT_EQ(none.Find("a"), nullptr);
}

TEST(TokenCacheTest, EntryBytesCountTheTokenAndTheClaims) {
  EXPECT_GE(TokenCache::EntryBytes(std::string(15000, 't'), 3000), 18000u);
  EXPECT_LT(TokenCache::EntryBytes(std::string(15000, 't'), 3000), 18000u + 400);
  EXPECT_GT(TokenCache::EntryBytes("short", 0), 0u);
}

}  // namespace
}  // namespace internal
}  // namespace token
}  // namespace pdp
