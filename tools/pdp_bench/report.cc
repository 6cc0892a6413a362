#include "tools/pdp_bench/report.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace pdp_bench {

std::string FormatResult(const LoadResult& r, int batch_size) {
  std::string out;
  absl::StrAppendFormat(
      &out, "  requests     %d in %.1f s (%d channels x %d in flight)\n",
      r.requests, r.duration_s, r.channels, r.inflight);
  absl::StrAppendFormat(&out, "  errors       %d", r.error_count());
  for (const auto& [code, count] : r.errors) {
    absl::StrAppendFormat(&out, "  %s %d", code, count);
  }
  out += "\n";
  absl::StrAppendFormat(&out, "  throughput   %.0f req/s", r.throughput_rps);
  if (batch_size > 0) {
    absl::StrAppendFormat(&out, " (%.0f checks/s)",
                          r.throughput_rps * batch_size);
  }
  out += "\n";
  const LatencySummary& l = r.latency;
  absl::StrAppendFormat(&out,
                        "  latency µs   p50 %.1f  p90 %.1f  p99 %.1f  "
                        "p99.9 %.1f  max %.1f  (mean %.1f)\n",
                        l.p50_us, l.p90_us, l.p99_us, l.p999_us, l.max_us,
                        l.mean_us);
  absl::StrAppendFormat(&out,
                        "  cpu          %.1f µs of this process per request\n",
                        r.process_cpu_us_per_request);
  if (r.decisions > 0) {
    out += "  decisions   ";
    for (const auto& [effect, count] : r.effects) {
      absl::StrAppendFormat(&out, " %s %.1f%%", effect,
                            100.0 * static_cast<double>(count) /
                                static_cast<double>(r.decisions));
    }
    out += "\n";
  }
  if (r.filter_calls > 0) {
    absl::StrAppendFormat(&out, "  filter       %.1f visible tools per call\n",
                          static_cast<double>(r.visible_tools) /
                              static_cast<double>(r.filter_calls));
  }
  return out;
}

nlohmann::json ResultJson(const LoadResult& r, int batch_size) {
  nlohmann::json j;
  j["channels"] = r.channels;
  j["inflight"] = r.inflight;
  j["duration_s"] = r.duration_s;
  j["requests"] = r.requests;
  j["ok"] = r.ok;
  j["errors"] = nlohmann::json::object();
  for (const auto& [code, count] : r.errors) j["errors"][code] = count;
  j["error_count"] = r.error_count();
  j["throughput_rps"] = r.throughput_rps;
  if (batch_size > 0) j["checks_per_s"] = r.throughput_rps * batch_size;
  j["latency_us"] = {
      {"mean", r.latency.mean_us},  {"p50", r.latency.p50_us},
      {"p90", r.latency.p90_us},    {"p99", r.latency.p99_us},
      {"p99_9", r.latency.p999_us}, {"max", r.latency.max_us},
  };
  j["process_cpu_us_per_request"] = r.process_cpu_us_per_request;
  j["effects"] = nlohmann::json::object();
  for (const auto& [effect, count] : r.effects) j["effects"][effect] = count;
  j["decisions"] = r.decisions;
  j["filter_calls"] = r.filter_calls;
  j["visible_tools"] = r.visible_tools;
  return j;
}

double PercentOfNull(const LoadResult& target, const LoadResult& null_run) {
  if (null_run.throughput_rps <= 0) return 0;
  return 100.0 * target.throughput_rps / null_run.throughput_rps;
}

}  // namespace pdp_bench
