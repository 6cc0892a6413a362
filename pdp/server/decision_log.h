#ifndef PDP_SERVER_DECISION_LOG_H_
#define PDP_SERVER_DECISION_LOG_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace pdp::server {

// One decision, as the decision log records it. The request path copies
// everything in (plain strings, no pointers into a request or a snapshot);
// formatting happens later on the log's writer thread.
//
// By construction the record holds no secrets: no tokens, no granted scopes,
// no amr, no asserted roles, no certificate bodies or keys. Keep it that way —
// add only identifiers and outcomes.
struct DecisionRecord {
  // One reason of the decision, as an auditor needs it: which link failed,
  // the stable code, the deny rule and the scopes the policy required but
  // the chain lacked (policy names, never the caller's token).
  struct Reason {
    std::string link;  // "user", "client", ... (pdp/names.h LinkName).
    std::string code;  // "MISSING_SCOPE", ... (pdp/names.h ReasonCodeName).
    std::string rule_id;                      // For RULE; else empty.
    std::vector<std::string> missing_scopes;  // For MISSING_SCOPE; else empty.
  };

  std::string decision_id;
  absl::Time time = absl::UnixEpoch();  // When the request arrived.
  // The caller's identity from its client certificate (SPIFFE URI or DNS
  // name); empty when serving plaintext.
  std::string caller;
  // The identity chain's ids; empty ones are left out of the line.
  std::string user_id;
  std::string client_id;
  std::string agent_id;
  // The agents agent_id acts for (a delegation's nested act claims).
  std::vector<std::string> delegated_agents;
  std::string service_id;
  // As decided: a service, a non-interactive client or the caller's word.
  bool autonomous = false;
  // "call" and "see": the tool id. "filter": empty.
  std::string tool;
  // "filter": the server id asked about; empty for an explicit tool list.
  std::string server;
  std::string action;  // "call", "see" or "filter".
  std::string effect;  // "ALLOW", "DENY", ... (pdp/names.h); empty for filter.
  std::vector<Reason> reasons;  // In the decision's order.
  std::vector<std::string> redact;        // Data class names.
  std::vector<std::string> visible_tools;  // "filter" only: the tool ids.
  std::string policy_version;
  int64_t latency_us = 0;  // Time spent answering, in microseconds.
};

// Writes one JSON line per decision, off the request path: Append() copies a
// record into a bounded in-memory queue and returns; one writer thread,
// woken by the first record, lets a batch gather for up to 5 ms (or 256
// records), takes the whole queue at once, formats it and writes it,
// flushing once per batch. A line is on disk within a few milliseconds.
// When the queue is full, Append() drops the record and counts it — a check
// never waits for the log.
//
// A line (fields in this order; empty chain ids, tool and server omitted;
// "effect" omitted when empty; "visible" only for action "filter"; in a
// reason, "rule_id" and "missing_scopes" only when not empty):
//   {"decision_id":"d-1","time":"2024-05-01T12:00:00.123456Z",
//    "caller":"spiffe://acme.example/gateway",
//    "chain":{"user":"alice","client":"ide","agent":"coder","autonomous":false},
//    "tool":"github.create_issue","action":"call","effect":"DENY",
//    "reasons":[{"link":"client","code":"MISSING_SCOPE",
//                "missing_scopes":["issues:write"]},
//               {"link":"rule","code":"RULE","rule_id":"no-bots"}],
//    "redact":[],"policy_version":"v7","latency_us":42}
// Invalid UTF-8 in any field is replaced by U+FFFD; it never fails a line.
//
// Thread-safe: Append(), Flush() and the counters may be called from any
// number of threads. The destructor must not race with them.
class DecisionLog {
 public:
  struct Options {
    // "-" writes to stdout; anything else is a file, created (mode 0640) if
    // missing and appended to.
    std::string path = "-";
    // Records waiting for the writer at most; beyond that Append() drops.
    // Must be at least 1.
    size_t queue_capacity = 65536;
    // Tests only: runs on the writer thread with each batch, before it is
    // written. A test stalls the writer by blocking here.
    std::function<void()> before_write_for_testing;
  };

  // Opens the destination and starts the writer thread.
  // Returns NotFound (the path's directory does not exist) or
  // InvalidArgument (any other reason the file cannot be opened, or a zero
  // queue_capacity), with a sentence naming the path.
  static absl::StatusOr<std::unique_ptr<DecisionLog>> Open(
      const Options& options);

  // Drains everything already queued, writes it, then joins the writer.
  // Does not close stdout.
  ~DecisionLog();

  DecisionLog(const DecisionLog&) = delete;
  DecisionLog& operator=(const DecisionLog&) = delete;

  // Queues `record` for writing. Never blocks on I/O: takes a short lock and
  // moves the record in. Returns false, and counts a drop, when the queue
  // is full.
  bool Append(DecisionRecord record);

  // Blocks until every record appended before the call has been written
  // (or counted as dropped). For orderly shutdown and tests; never call it
  // on the request path.
  void Flush();

  // Records refused because the queue was full, plus records in batches the
  // destination failed to write (disk full, closed pipe).
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  // Records written and flushed.
  uint64_t written() const { return written_.load(std::memory_order_relaxed); }

  // The JSON line for `record`, without the trailing newline.
  static std::string FormatLine(const DecisionRecord& record);

 private:
  DecisionLog(const Options& options, std::FILE* out, bool owns_out);
  void WriterLoop();

  const size_t capacity_;
  const std::function<void()> before_write_;
  std::FILE* const out_;  // Only the writer thread touches it.
  const bool owns_out_;

  absl::Mutex mu_;
  absl::CondVar work_cv_;  // Signalled when queue_ gets work or on stop.
  absl::CondVar done_cv_;  // Signalled when a batch is finished.
  std::vector<DecisionRecord> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t appended_ ABSL_GUARDED_BY(mu_) = 0;  // Records ever queued.
  uint64_t finished_ ABSL_GUARDED_BY(mu_) = 0;  // Of those, written or lost.
  int flush_waiters_ ABSL_GUARDED_BY(mu_) = 0;  // Threads inside Flush().

  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> written_{0};
  std::thread writer_;
};

}  // namespace pdp::server

#endif  // PDP_SERVER_DECISION_LOG_H_
