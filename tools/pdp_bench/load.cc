#include "tools/pdp_bench/load.h"

#include <sys/resource.h>
#include <sys/time.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "grpc/impl/codegen/grpc_types.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "pdp/v1/authorizer.grpc.pb.h"

namespace pdp_bench {
namespace {

namespace v1 = ::pdp::v1;
using Clock = std::chrono::steady_clock;

constexpr const char* kEffectNames[] = {"UNSPECIFIED", "ALLOW", "DENY",
                                        "REQUIRE_APPROVAL", "STEP_UP"};
constexpr size_t kEffects = sizeof(kEffectNames) / sizeof(kEffectNames[0]);

// When calls count, and when every call must have ended.
struct Window {
  Clock::time_point measure_start;
  Clock::time_point measure_end;
  std::chrono::system_clock::time_point call_deadline;
};

// Counts slots down to zero and then wakes the waiting thread.
class Completion {
 public:
  explicit Completion(int slots) : remaining_(slots) {}
  void SlotFinished() {
    if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) done_.Notify();
  }
  void Wait() { done_.WaitForNotification(); }

 private:
  std::atomic<int> remaining_;
  absl::Notification done_;
};

// One closed-loop slot: one call in flight at a time; the completion of one
// call sends the next. Its counters are written only by the callback of its
// current call (so by one thread at a time, ordered by gRPC) and read after
// Completion::Wait().
class Slot {
 public:
  Slot(v1::Authorizer::Stub* stub, const RequestMix& mix, const Window& window,
       size_t start, Completion* completion)
      : stub_(stub),
        mix_(mix),
        window_(window),
        next_(start),
        completion_(completion) {
    latencies_ns_.reserve(1 << 14);
  }

  void Start() { Issue(); }

  std::vector<int64_t>& latencies_ns() { return latencies_ns_; }
  const std::map<int, int64_t>& errors() const { return errors_; }
  const std::array<int64_t, kEffects>& effects() const { return effects_; }
  int64_t filter_calls() const { return filter_calls_; }
  int64_t visible_tools() const { return visible_tools_; }

 private:
  void Issue() {
    const Operation& op = mix_.operation(next_++);
    kind_ = op.kind;
    // The previous call's context may go: its completion holds its own
    // reference to the call.
    context_ = std::make_unique<grpc::ClientContext>();
    context_->set_deadline(window_.call_deadline);
    auto on_done = [this](grpc::Status status) { OnDone(status); };
    started_ = Clock::now();
    switch (op.kind) {
      case Operation::Kind::kCheck:
        stub_->async()->Check(context_.get(), &op.check, &check_response_,
                              std::move(on_done));
        break;
      case Operation::Kind::kFilter:
        stub_->async()->FilterTools(context_.get(), &op.filter,
                                    &filter_response_, std::move(on_done));
        break;
      case Operation::Kind::kBatch:
        stub_->async()->BatchCheck(context_.get(), &op.batch, &batch_response_,
                                   std::move(on_done));
        break;
    }
  }

  void OnDone(const grpc::Status& status) {
    const Clock::time_point now = Clock::now();
    if (now >= window_.measure_start && now < window_.measure_end) {
      Record(status, now);
    }
    if (now >= window_.measure_end) {
      completion_->SlotFinished();  // `this` may be gone after this.
      return;
    }
    Issue();
  }

  void Record(const grpc::Status& status, Clock::time_point now) {
    if (!status.ok()) {
      ++errors_[status.error_code()];
      return;
    }
    latencies_ns_.push_back(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - started_)
            .count());
    switch (kind_) {
      case Operation::Kind::kCheck:
        CountEffect(check_response_.decision().effect());
        break;
      case Operation::Kind::kFilter:
        ++filter_calls_;
        visible_tools_ += filter_response_.tools_size();
        break;
      case Operation::Kind::kBatch:
        for (const v1::Decision& decision : batch_response_.decisions()) {
          CountEffect(decision.effect());
        }
        break;
    }
  }

  void CountEffect(int effect) {
    ++effects_[effect >= 0 && static_cast<size_t>(effect) < kEffects ? effect
                                                                     : 0];
  }

  v1::Authorizer::Stub* const stub_;
  const RequestMix& mix_;
  const Window& window_;
  size_t next_;
  Completion* const completion_;

  Operation::Kind kind_ = Operation::Kind::kCheck;
  std::unique_ptr<grpc::ClientContext> context_;
  Clock::time_point started_;
  v1::CheckResponse check_response_;
  v1::FilterToolsResponse filter_response_;
  v1::BatchCheckResponse batch_response_;

  std::vector<int64_t> latencies_ns_;
  std::map<int, int64_t> errors_;
  std::array<int64_t, kEffects> effects_{};
  int64_t filter_calls_ = 0;
  int64_t visible_tools_ = 0;
};

// User and system CPU time of this process so far.
double ProcessCpuSeconds() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Opens channel `index` to `target` as its own connection and waits for it.
absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(
    const std::string& target, const ClientTransport& transport, int index,
    std::chrono::system_clock::time_point deadline, absl::Duration timeout) {
  grpc::ChannelArguments arguments = transport.arguments;
  // A distinct connection per channel.
  arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  arguments.SetInt("pdp_bench.channel", index);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(target, transport.credentials, arguments);
  if (!channel->WaitForConnected(deadline)) {
    return absl::UnavailableError(absl::StrCat(
        "cannot connect to ", target, " within ", absl::FormatDuration(timeout),
        ": is it serving, and do the TLS flags (--ca, --cert, --key, "
        "--server-name) or --insecure match it?"));
  }
  return channel;
}

}  // namespace

absl::Status CheckConnect(const std::string& target,
                          const ClientTransport& transport,
                          absl::Duration timeout) {
  return Connect(target, transport, -1,
                 std::chrono::system_clock::now() +
                     absl::ToChronoMilliseconds(timeout),
                 timeout)
      .status();
}

std::string StatusCodeName(int code) {
  static constexpr const char* kNames[] = {
      "OK",
      "CANCELLED",
      "UNKNOWN",
      "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED",
      "NOT_FOUND",
      "ALREADY_EXISTS",
      "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION",
      "ABORTED",
      "OUT_OF_RANGE",
      "UNIMPLEMENTED",
      "INTERNAL",
      "UNAVAILABLE",
      "DATA_LOSS",
      "UNAUTHENTICATED",
  };
  if (code >= 0 &&
      static_cast<size_t>(code) < sizeof(kNames) / sizeof(*kNames)) {
    return kNames[code];
  }
  return absl::StrCat("CODE_", code);
}

absl::StatusOr<LoadResult> RunLoad(const std::string& target,
                                   const ClientTransport& transport,
                                   const RequestMix& mix,
                                   const LoadOptions& options) {
  if (options.channels <= 0 || options.inflight <= 0 ||
      options.duration <= absl::ZeroDuration() ||
      options.warmup < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "a load needs at least one channel, one call in flight and a "
        "positive duration");
  }
  const int channel_count = std::min(options.channels, options.inflight);

  std::vector<std::unique_ptr<v1::Authorizer::Stub>> stubs;
  const auto connect_deadline =
      std::chrono::system_clock::now() +
      absl::ToChronoMilliseconds(options.connect_timeout);
  for (int i = 0; i < channel_count; ++i) {
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = Connect(
        target, transport, i, connect_deadline, options.connect_timeout);
    if (!channel.ok()) return channel.status();
    stubs.push_back(v1::Authorizer::NewStub(*channel));
  }

  const Clock::time_point start = Clock::now();
  Window window;
  window.measure_start = start + absl::ToChronoNanoseconds(options.warmup);
  window.measure_end =
      window.measure_start + absl::ToChronoNanoseconds(options.duration);
  window.call_deadline =
      std::chrono::system_clock::now() +
      absl::ToChronoNanoseconds(options.warmup + options.duration +
                                options.call_grace);

  Completion completion(options.inflight);
  std::vector<std::unique_ptr<Slot>> slots;
  slots.reserve(options.inflight);
  for (int i = 0; i < options.inflight; ++i) {
    // Slots start spread over the pool so they do not send the same requests.
    const size_t offset = mix.size() * static_cast<size_t>(i) /
                          static_cast<size_t>(options.inflight);
    slots.push_back(std::make_unique<Slot>(stubs[i % channel_count].get(), mix,
                                           window, offset, &completion));
  }
  for (std::unique_ptr<Slot>& slot : slots) slot->Start();
  std::this_thread::sleep_until(window.measure_start);
  const double cpu_start_s = ProcessCpuSeconds();
  std::this_thread::sleep_until(window.measure_end);
  const double cpu_s = ProcessCpuSeconds() - cpu_start_s;
  completion.Wait();

  LoadResult result;
  result.channels = channel_count;
  result.inflight = options.inflight;
  result.duration_s = absl::ToDoubleSeconds(options.duration);
  std::vector<int64_t> latencies;
  size_t total = 0;
  for (const std::unique_ptr<Slot>& slot : slots) {
    total += slot->latencies_ns().size();
  }
  latencies.reserve(total);
  std::array<int64_t, kEffects> effects{};
  for (std::unique_ptr<Slot>& slot : slots) {
    latencies.insert(latencies.end(), slot->latencies_ns().begin(),
                     slot->latencies_ns().end());
    std::vector<int64_t>().swap(slot->latencies_ns());
    for (const auto& [code, count] : slot->errors()) {
      result.errors[StatusCodeName(code)] += count;
      result.requests += count;
    }
    for (size_t e = 0; e < kEffects; ++e) effects[e] += slot->effects()[e];
    result.filter_calls += slot->filter_calls();
    result.visible_tools += slot->visible_tools();
  }
  for (size_t e = 0; e < kEffects; ++e) {
    if (effects[e] != 0) result.effects[kEffectNames[e]] = effects[e];
    result.decisions += effects[e];
  }
  result.ok = static_cast<int64_t>(latencies.size());
  result.requests += result.ok;
  result.throughput_rps = static_cast<double>(result.ok) / result.duration_s;
  result.latency = Summarize(std::move(latencies));
  if (result.requests > 0) {
    result.process_cpu_us_per_request =
        cpu_s * 1e6 / static_cast<double>(result.requests);
  }
  return result;
}

}  // namespace pdp_bench
