#include "tools/pdp_bench/latency_stats.h"

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace pdp_bench {
namespace {

TEST(LatencyStatsTest, NearestRankOnOneToOneHundred) {
  std::vector<int64_t> ns;
  for (int64_t i = 1; i <= 100; ++i) ns.push_back(i);
  EXPECT_EQ(NearestRankPercentile(ns, 50), 50);
  EXPECT_EQ(NearestRankPercentile(ns, 90), 90);
  EXPECT_EQ(NearestRankPercentile(ns, 99), 99);
  EXPECT_EQ(NearestRankPercentile(ns, 99.9), 100);
  EXPECT_EQ(NearestRankPercentile(ns, 100), 100);
  EXPECT_EQ(NearestRankPercentile(ns, 0.5), 1);
}

TEST(LatencyStatsTest, NearestRankOnOneToOneThousand) {
  std::vector<int64_t> ns;
  for (int64_t i = 1; i <= 1000; ++i) ns.push_back(i);
  EXPECT_EQ(NearestRankPercentile(ns, 50), 500);
  EXPECT_EQ(NearestRankPercentile(ns, 99), 990);
  EXPECT_EQ(NearestRankPercentile(ns, 99.9), 999);
}

TEST(LatencyStatsTest, SummarizeShuffledMicroseconds) {
  // 1..1000 µs in a shuffled order.
  std::vector<int64_t> ns;
  for (int64_t i = 1; i <= 1000; ++i) ns.push_back(i * 1000);
  std::shuffle(ns.begin(), ns.end(), std::mt19937(42));
  LatencySummary s = Summarize(ns);
  EXPECT_EQ(s.count, 1000);
  EXPECT_DOUBLE_EQ(s.p50_us, 500);
  EXPECT_DOUBLE_EQ(s.p90_us, 900);
  EXPECT_DOUBLE_EQ(s.p99_us, 990);
  EXPECT_DOUBLE_EQ(s.p999_us, 999);
  EXPECT_DOUBLE_EQ(s.max_us, 1000);
  EXPECT_DOUBLE_EQ(s.mean_us, 500.5);
}

TEST(LatencyStatsTest, SingleSampleIsEveryPercentile) {
  LatencySummary s = Summarize({2500});
  EXPECT_EQ(s.count, 1);
  EXPECT_DOUBLE_EQ(s.p50_us, 2.5);
  EXPECT_DOUBLE_EQ(s.p999_us, 2.5);
  EXPECT_DOUBLE_EQ(s.max_us, 2.5);
}

TEST(LatencyStatsTest, SkewedTail) {
  // 990 fast calls and 10 slow ones: p99 is still fast, p99.9 is slow.
  std::vector<int64_t> ns(990, 100'000);
  ns.insert(ns.end(), 10, 9'000'000);
  LatencySummary s = Summarize(ns);
  EXPECT_DOUBLE_EQ(s.p50_us, 100);
  EXPECT_DOUBLE_EQ(s.p99_us, 100);
  EXPECT_DOUBLE_EQ(s.p999_us, 9000);
  EXPECT_DOUBLE_EQ(s.max_us, 9000);
}

TEST(LatencyStatsTest, EmptyIsAllZero) {
  LatencySummary s = Summarize({});
  EXPECT_EQ(s.count, 0);
  EXPECT_EQ(s.p50_us, 0);
  EXPECT_EQ(s.max_us, 0);
}

}  // namespace
}  // namespace pdp_bench
