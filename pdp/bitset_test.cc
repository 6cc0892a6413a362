#include "pdp/bitset.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pdp {
namespace {

using ::testing::ElementsAre;

std::vector<size_t> Members(const Bitset& b) {
  std::vector<size_t> out;
  b.ForEach([&](size_t i) { out.push_back(i); });
  return out;
}

TEST(BitsetTest, SetAndTestAcrossWords) {
  Bitset b(130);
  b.Set(0);
  b.Set(63);
  b.Set(64);
  b.Set(129);
  EXPECT_THAT(Members(b), ElementsAre(0, 63, 64, 129));
  EXPECT_FALSE(b.Test(1));
  EXPECT_FALSE(b.Test(500));  // Out of range is not a member.
  EXPECT_EQ(b.Count(), 4);
}

TEST(BitsetTest, SetAllStaysInRange) {
  Bitset b(70);
  b.SetAll();
  EXPECT_EQ(b.Count(), 70);
  Bitset empty(0);
  empty.SetAll();
  EXPECT_TRUE(empty.None());
}

TEST(BitsetTest, Algebra) {
  Bitset a(100), b(100);
  a.Set(1);
  a.Set(70);
  b.Set(70);
  b.Set(99);
  EXPECT_TRUE(a.Intersects(b));
  Bitset u = a;
  u.OrWith(b);
  EXPECT_THAT(Members(u), ElementsAre(1, 70, 99));
  Bitset i = a;
  i.AndWith(b);
  EXPECT_THAT(Members(i), ElementsAre(70));
  Bitset d = a;
  d.AndNotWith(b);
  EXPECT_THAT(Members(d), ElementsAre(1));
  EXPECT_TRUE(i.IsSubsetOf(a));
  EXPECT_FALSE(a.IsSubsetOf(b));
  d.AndWith(b);
  EXPECT_TRUE(d.None());
  EXPECT_FALSE(d.Intersects(a));
}

}  // namespace
}  // namespace pdp
