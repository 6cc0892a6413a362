#ifndef TOOLS_PDP_BENCH_REPORT_H_
#define TOOLS_PDP_BENCH_REPORT_H_

#include <string>

#include "nlohmann/json.hpp"
#include "tools/pdp_bench/load.h"

namespace pdp_bench {

// Human-readable lines for one run: requests, errors by code, throughput,
// latency percentiles in µs, this process's CPU per request, decisions by
// effect, tools per FilterTools.
// `batch_size` > 0 adds the checks per second of a BatchCheck run.
std::string FormatResult(const LoadResult& result, int batch_size);

// The same as one JSON object:
// {"channels", "inflight", "duration_s", "requests", "ok", "errors": {code:
//  n}, "error_count", "throughput_rps", ["checks_per_s",] "latency_us":
//  {"mean", "p50", "p90", "p99", "p99_9", "max"},
//  "process_cpu_us_per_request", "effects": {effect: n},
//  "decisions", "filter_calls", "visible_tools"}.
nlohmann::json ResultJson(const LoadResult& result, int batch_size);

// target / null throughput, in percent; 0 when the null run had none.
double PercentOfNull(const LoadResult& target, const LoadResult& null_run);

}  // namespace pdp_bench

#endif  // TOOLS_PDP_BENCH_REPORT_H_
