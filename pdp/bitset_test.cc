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

TEST(BitsetTest, SetRange) {
  for (auto [begin, end] : std::vector<std::pair<size_t, size_t>>{
           {0, 0}, {0, 200}, {3, 5}, {60, 70}, {64, 128}, {63, 129}, {190, 200}}) {
    Bitset b(200);
    b.SetRange(begin, end);
    EXPECT_EQ(b.Count(), end - begin) << begin << ".." << end;
    for (size_t i = 0; i < 200; ++i) {
      EXPECT_EQ(b.Test(i), i >= begin && i < end) << i;
    }
  }
}

TEST(BitsetTest, RangedAlgebraTouchesOnlyTheRange) {
  Bitset a(256), b(256);
  a.SetAll();
  b.Set(10);
  b.Set(100);
  Bitset and_ranged = a;
  and_ranged.AndWith(b, 1, 2);  // Words 1 only: bits 64..127.
  EXPECT_TRUE(and_ranged.Test(10));
  EXPECT_TRUE(and_ranged.Test(100));
  EXPECT_FALSE(and_ranged.Test(101));
  EXPECT_TRUE(and_ranged.Test(200));
  Bitset not_ranged = a;
  not_ranged.AndNotWith(b, 0, 1);
  EXPECT_FALSE(not_ranged.Test(10));
  EXPECT_TRUE(not_ranged.Test(100));
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
