#include "pdp/server/decision_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace pdp::server {
namespace {

constexpr size_t kChunkBytes = 64 * 1024;
// Once woken, the writer lets a batch gather for this long (or until it is
// this big): one wakeup and one write serve many decisions, instead of a
// thread switch per decision under load.
constexpr absl::Duration kLinger = absl::Milliseconds(5);
constexpr size_t kBatchRecords = 256;

// Writes one JSON object's members straight into a string: keys are
// constants written as they are; every string value goes through
// nlohmann's serializer with the replace handler, which escapes it and
// turns invalid UTF-8 into U+FFFD. Building a nlohmann DOM per line instead
// costs about three times as much, on the same CPUs that answer checks.
class LineFormatter {
 public:
  explicit LineFormatter(std::string* out)
      : out_(*out),
        serializer_(nlohmann::detail::output_adapter<char>(*out), ' ',
                    nlohmann::json::error_handler_t::replace),
        holder_(std::string()) {}

  void Append(const DecisionRecord& r) {
    out_ += R"({"decision_id":)";
    String(r.decision_id);
    out_ += R"(,"time":")";
    out_ += absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", r.time,
                             absl::UTCTimeZone());
    out_ += R"(","caller":)";
    String(r.caller);
    out_ += R"(,"chain":{)";
    OptionalString(R"("user":)", r.user_id);
    OptionalString(R"("client":)", r.client_id);
    OptionalString(R"("agent":)", r.agent_id);
    if (!r.delegated_agents.empty()) {
      out_ += R"("delegated_agents":)";
      Strings(r.delegated_agents);
      out_ += ',';
    }
    OptionalString(R"("service":)", r.service_id);
    out_ += r.autonomous ? R"("autonomous":true})" : R"("autonomous":false})";
    if (!r.tool.empty()) {
      out_ += R"(,"tool":)";
      String(r.tool);
    }
    if (!r.server.empty()) {
      out_ += R"(,"server":)";
      String(r.server);
    }
    out_ += R"(,"action":)";
    String(r.action);
    if (!r.effect.empty()) {
      out_ += R"(,"effect":)";
      String(r.effect);
    }
    out_ += R"(,"reasons":[)";
    for (size_t i = 0; i < r.reasons.size(); ++i) {
      if (i > 0) out_ += ',';
      Reason(r.reasons[i]);
    }
    out_ += ']';
    out_ += R"(,"redact":)";
    Strings(r.redact);
    if (r.action == "filter") {
      out_ += R"(,"visible":)";
      Strings(r.visible_tools);
    }
    out_ += R"(,"policy_version":)";
    String(r.policy_version);
    out_ += R"(,"latency_us":)";
    absl::StrAppend(&out_, r.latency_us);
    out_ += '}';
  }

 private:
  void String(const std::string& value) {
    // Assigning into the held string reuses its buffer.
    holder_.get_ref<std::string&>().assign(value);
    serializer_.dump(holder_, /*pretty_print=*/false, /*ensure_ascii=*/false,
                     /*indent_step=*/0);
  }

  // `key` is `"name":`; the member is written with a trailing comma.
  void OptionalString(const char* key, const std::string& value) {
    if (value.empty()) return;
    out_ += key;
    String(value);
    out_ += ',';
  }

  void Reason(const DecisionRecord::Reason& reason) {
    out_ += R"({"link":)";
    String(reason.link);
    out_ += R"(,"code":)";
    String(reason.code);
    if (!reason.rule_id.empty()) {
      out_ += R"(,"rule_id":)";
      String(reason.rule_id);
    }
    if (!reason.missing_scopes.empty()) {
      out_ += R"(,"missing_scopes":)";
      Strings(reason.missing_scopes);
    }
    out_ += '}';
  }

  void Strings(const std::vector<std::string>& values) {
    out_ += '[';
    for (size_t i = 0; i < values.size(); ++i) {
      if (i > 0) out_ += ',';
      String(values[i]);
    }
    out_ += ']';
  }

  std::string& out_;
  nlohmann::detail::serializer<nlohmann::json> serializer_;
  nlohmann::json holder_;  // Always a string.
};

}  // namespace

absl::StatusOr<std::unique_ptr<DecisionLog>> DecisionLog::Open(
    const Options& options) {
  if (options.queue_capacity == 0) {
    return absl::InvalidArgumentError(
        "decision log: queue_capacity must be at least 1");
  }
  if (options.path.empty()) {
    return absl::InvalidArgumentError(
        "decision log: the path is empty (use \"-\" for stdout)");
  }
  if (options.path == "-") {
    return std::unique_ptr<DecisionLog>(
        new DecisionLog(options, stdout, /*owns_out=*/false));
  }
  int fd = open(options.path.c_str(),
                O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  std::FILE* out = fd < 0 ? nullptr : fdopen(fd, "a");
  if (out == nullptr) {
    int err = errno;
    if (fd >= 0) close(fd);
    std::string message = absl::StrCat("decision log: cannot open \"",
                                       options.path, "\": ",
                                       std::strerror(err));
    if (err == ENOENT || err == ENOTDIR) return absl::NotFoundError(message);
    return absl::InvalidArgumentError(message);
  }
  return std::unique_ptr<DecisionLog>(
      new DecisionLog(options, out, /*owns_out=*/true));
}

DecisionLog::DecisionLog(const Options& options, std::FILE* out,
                         bool owns_out)
    : capacity_(options.queue_capacity),
      before_write_(options.before_write_for_testing),
      out_(out),
      owns_out_(owns_out) {
  writer_ = std::thread([this] { WriterLoop(); });
}

DecisionLog::~DecisionLog() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    work_cv_.Signal();
  }
  writer_.join();
  if (owns_out_) {
    std::fclose(out_);
  } else {
    std::fflush(out_);
  }
}

bool DecisionLog::Append(DecisionRecord record) {
  absl::MutexLock lock(&mu_);
  if (queue_.size() >= capacity_) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (queue_.empty()) work_cv_.Signal();
  queue_.push_back(std::move(record));
  ++appended_;
  return true;
}

void DecisionLog::Flush() {
  absl::MutexLock lock(&mu_);
  const uint64_t target = appended_;
  ++flush_waiters_;
  work_cv_.Signal();  // Ends the writer's wait for a fuller batch.
  while (finished_ < target) done_cv_.Wait(&mu_);
  --flush_waiters_;
}

void DecisionLog::WriterLoop() {
  // Double buffering: the writer swaps its emptied batch in for the queue,
  // so both vectors keep their capacity and steady state allocates nothing
  // but the records' own strings.
  std::vector<DecisionRecord> batch;
  std::string buffer;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      while (queue_.empty() && !stopping_) work_cv_.Wait(&mu_);
      if (queue_.empty()) return;  // Stopping, and nothing left.
      const absl::Time until = absl::Now() + kLinger;
      while (queue_.size() < kBatchRecords && !stopping_ &&
             flush_waiters_ == 0 && !work_cv_.WaitWithDeadline(&mu_, until)) {
      }
      batch.swap(queue_);
    }
    if (before_write_) before_write_();
    // Formatted in chunks, so a large batch does not need a large buffer.
    bool ok = true;
    buffer.clear();
    LineFormatter formatter(&buffer);
    for (size_t i = 0; i < batch.size(); ++i) {
      formatter.Append(batch[i]);
      buffer += '\n';
      if (buffer.size() >= kChunkBytes || i + 1 == batch.size()) {
        ok = ok && std::fwrite(buffer.data(), 1, buffer.size(), out_) ==
                       buffer.size();
        buffer.clear();
      }
    }
    ok = std::fflush(out_) == 0 && ok;
    if (ok) {
      written_.fetch_add(batch.size(), std::memory_order_relaxed);
    } else {
      dropped_.fetch_add(batch.size(), std::memory_order_relaxed);
      std::clearerr(out_);
    }
    const size_t n = batch.size();
    batch.clear();
    {
      absl::MutexLock lock(&mu_);
      finished_ += n;
      done_cv_.SignalAll();
    }
  }
}


std::string DecisionLog::FormatLine(const DecisionRecord& record) {
  std::string line;
  LineFormatter(&line).Append(record);
  return line;
}

}  // namespace pdp::server
