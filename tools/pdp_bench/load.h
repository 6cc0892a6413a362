#ifndef TOOLS_PDP_BENCH_LOAD_H_
#define TOOLS_PDP_BENCH_LOAD_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tools/pdp_bench/latency_stats.h"
#include "tools/pdp_bench/request_mix.h"
#include "tools/pdp_bench/transport.h"

namespace pdp_bench {

struct LoadOptions {
  // Distinct connections (each channel has its own subchannel pool).
  // Channels beyond `inflight` are not opened.
  int channels = 2;
  // Slots, each with one call in flight at all times, spread round-robin
  // over the channels.
  int inflight = 8;
  // Measured time, after `warmup`.
  absl::Duration duration = absl::Seconds(10);
  absl::Duration warmup = absl::Seconds(1);
  // How long each channel may take to connect before the run.
  absl::Duration connect_timeout = absl::Seconds(5);
  // Each call's deadline is the end of the run plus this, so a stuck server
  // cannot hold the run open longer.
  absl::Duration call_grace = absl::Seconds(5);
};

// What a run measured. Counts cover calls that completed inside the measured
// window.
struct LoadResult {
  int channels = 0;  // Opened.
  int inflight = 0;
  double duration_s = 0;  // The measured window.
  int64_t requests = 0;   // Completed calls, successful or not.
  int64_t ok = 0;         // Successful calls.
  // Failed calls by status code name ("UNAVAILABLE"); sums to requests - ok.
  std::map<std::string, int64_t> errors;
  double throughput_rps = 0;  // ok / duration_s.
  // Decisions in successful Check and BatchCheck responses, by effect name
  // ("ALLOW", "DENY", "REQUIRE_APPROVAL", "STEP_UP", "UNSPECIFIED").
  std::map<std::string, int64_t> effects;
  int64_t decisions = 0;      // Sum of `effects`.
  int64_t filter_calls = 0;   // Successful FilterTools calls...
  int64_t visible_tools = 0;  // ...and the tools they returned.
  LatencySummary latency;     // Of successful calls.
  // CPU time (user + system) this whole process used during the measured
  // window, per completed call: the load generator's cost, plus the
  // server's when the server runs in this process.
  double process_cpu_us_per_request = 0;

  int64_t error_count() const { return requests - ok; }
};

// Runs a closed loop of `options.inflight` calls against `target` with the
// callback API: each slot sends mix.operation(k) for its own k = start,
// start+1, ... and sends the next as soon as the previous completes, until
// the warm-up and the measured window have passed. Latency is taken with the
// steady clock around each call. Blocks until every call has completed.
// Returns Unavailable, naming the target, when a channel cannot connect
// within connect_timeout; InvalidArgument for non-positive channels,
// inflight or duration. Thread-compatible; `mix` is only read.
absl::StatusOr<LoadResult> RunLoad(const std::string& target,
                                   const ClientTransport& transport,
                                   const RequestMix& mix,
                                   const LoadOptions& options);

// Returns OK once a connection to `target` is ready, Unavailable naming the
// target when none is within `timeout`. Thread-safe.
absl::Status CheckConnect(const std::string& target,
                          const ClientTransport& transport,
                          absl::Duration timeout);

// The name of a gRPC status code: "OK", "UNAVAILABLE", ...; "CODE_<n>" for
// unknown codes.
std::string StatusCodeName(int code);

}  // namespace pdp_bench

#endif  // TOOLS_PDP_BENCH_LOAD_H_
