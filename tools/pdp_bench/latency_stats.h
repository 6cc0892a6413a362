#ifndef TOOLS_PDP_BENCH_LATENCY_STATS_H_
#define TOOLS_PDP_BENCH_LATENCY_STATS_H_

#include <cstdint>
#include <vector>

namespace pdp_bench {

// Percentiles of a set of latencies, in microseconds. All zero when there
// are no samples.
struct LatencySummary {
  int64_t count = 0;
  double mean_us = 0;
  double p50_us = 0;
  double p90_us = 0;
  double p99_us = 0;
  double p999_us = 0;
  double max_us = 0;
};

// The nearest-rank percentile: the smallest sample such that at least
// `percentile`% of the samples are at or below it (for 1..100 and p50, 50).
// REQUIRES: `sorted_ns` ascending and non-empty; 0 < percentile <= 100.
int64_t NearestRankPercentile(const std::vector<int64_t>& sorted_ns,
                              double percentile);

// Summarizes latencies given in nanoseconds, in any order (sorts them).
// p50 <= p90 <= p99 <= p99.9 <= max always holds.
LatencySummary Summarize(std::vector<int64_t> latencies_ns);

}  // namespace pdp_bench

#endif  // TOOLS_PDP_BENCH_LATENCY_STATS_H_
