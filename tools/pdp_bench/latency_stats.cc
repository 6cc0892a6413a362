#include "tools/pdp_bench/latency_stats.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace pdp_bench {

int64_t NearestRankPercentile(const std::vector<int64_t>& sorted_ns,
                              double percentile) {
  const double n = static_cast<double>(sorted_ns.size());
  // The 1e-9 keeps p50 of 100 samples at rank 50 despite rounding in 0.5*100.
  size_t rank = static_cast<size_t>(std::ceil(percentile / 100.0 * n - 1e-9));
  rank = std::clamp<size_t>(rank, 1, sorted_ns.size());
  return sorted_ns[rank - 1];
}

LatencySummary Summarize(std::vector<int64_t> latencies_ns) {
  LatencySummary summary;
  if (latencies_ns.empty()) return summary;
  std::sort(latencies_ns.begin(), latencies_ns.end());
  auto us = [](int64_t ns) { return static_cast<double>(ns) / 1000.0; };
  double total = 0;
  for (int64_t ns : latencies_ns) total += static_cast<double>(ns);
  summary.count = static_cast<int64_t>(latencies_ns.size());
  summary.mean_us = total / static_cast<double>(latencies_ns.size()) / 1000.0;
  summary.p50_us = us(NearestRankPercentile(latencies_ns, 50));
  summary.p90_us = us(NearestRankPercentile(latencies_ns, 90));
  summary.p99_us = us(NearestRankPercentile(latencies_ns, 99));
  summary.p999_us = us(NearestRankPercentile(latencies_ns, 99.9));
  summary.max_us = us(latencies_ns.back());
  return summary;
}

}  // namespace pdp_bench
