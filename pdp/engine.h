#ifndef PDP_ENGINE_H_
#define PDP_ENGINE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "pdp/active_policy.h"
#include "pdp/chain_tokens.h"
#include "pdp/decision.h"
#include "pdp/explain.h"
#include "pdp/request.h"
#include "pdp/snapshot.h"
#include "pdp/token_source.h"
#include "pdp/user_source.h"

namespace pdp {

// The one decision pipeline: takes the active snapshot, completes a
// request's chain from its tokens (pdp/chain_tokens.h), then decides
// (pdp/evaluator.h) or explains (pdp/explain.h). Every transport (the gRPC
// services, pdpctl, the benchmarks) translates in, calls the Engine and
// translates out.
//
// Each call takes one reference to the snapshot (ActivePolicy::Get()) and
// then runs without locks; the token source is asked only for a chain that
// carries tokens. A request is moved in and returned completed, never
// copied. Every result carries the snapshot it was decided on, for the
// caller's translation (data class names, the policy version) and log.
//
// Every call returns Unavailable while no policy is active (fail closed,
// with ActivePolicy::UnavailableReason() when one was set), DeadlineExceeded
// when `deadline` passed before the decision was made, and InvalidArgument,
// naming the field, for a malformed request or a link given both as a token
// and as an asserted id. DENY is a decision, never an error.
//
// Thread-safe. The referenced objects must outlive the Engine.
class Engine {
 public:
  struct Options {
    // Verifies the chains' tokens; nullptr: a chain carrying tokens is
    // decided as if it carried none. Must be thread-safe.
    const TokenSource* tokens = nullptr;
    // The directory, whose users replace the policy's (pdp/evaluator.h);
    // nullptr: the policy's `users:` alone. Must be thread-safe.
    const UserSource* users = nullptr;
  };

  Engine(const ActivePolicy& policy, Options options)
      : policy_(policy), options_(options) {}

  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // The active snapshot, for what is decided outside the pipeline
  // (CheckClientRequest, status): Unavailable and DeadlineExceeded as above.
  absl::StatusOr<std::shared_ptr<const Snapshot>> Active(
      absl::Time deadline = absl::InfiniteFuture()) const;

  struct Checked {
    std::shared_ptr<const Snapshot> snapshot;  // Non-null.
    Request request;  // Completed from its tokens.
    Decision decision;
  };
  absl::StatusOr<Checked> Check(
      Request request, const ChainTokens& tokens = {},
      absl::Time deadline = absl::InfiniteFuture()) const;

  struct BatchChecked {
    std::shared_ptr<const Snapshot> snapshot;  // Non-null.
    std::vector<Request> requests;  // Completed from their tokens.
    std::vector<Decision> decisions;  // In request order.
  };
  // `tokens` is empty (no request carries any) or has one entry per
  // request. Errors name the request: "checks[3]: ...", InvalidArgument.
  absl::StatusOr<BatchChecked> BatchCheck(
      std::vector<Request> requests, const std::vector<ChainTokens>& tokens,
      absl::Time deadline = absl::InfiniteFuture()) const;

  struct Filtered {
    std::shared_ptr<const Snapshot> snapshot;  // Non-null.
    Chain chain;  // Completed from its tokens.
    std::vector<VisibleTool> tools;
  };
  // Also InvalidArgument unless exactly one of server_id and tool_ids is
  // given.
  absl::StatusOr<Filtered> FilterTools(
      Chain chain, const ChainTokens& tokens, const ToolSelection& selection,
      absl::Time deadline = absl::InfiniteFuture()) const;

  struct Completed {
    std::shared_ptr<const Snapshot> snapshot;  // Non-null.
    Chain chain;  // Completed from its tokens; nothing decided.
  };
  // For tools that show a chain rather than decide (pdpctl).
  absl::StatusOr<Completed> Complete(Chain chain,
                                     const ChainTokens& tokens) const;

  struct Explained {
    std::shared_ptr<const Snapshot> snapshot;  // Non-null.
    Request request;  // Completed from its tokens.
    Decision decision;
    std::vector<ExplainLine> lines;
  };
  // Check(), then why: files named under `source_dir` (ExplainOptions).
  absl::StatusOr<Explained> Explain(Request request, const ChainTokens& tokens,
                                    const std::string& source_dir) const;

 private:
  // `chain` completed from `tokens` (unchanged when they are empty).
  absl::StatusOr<Chain> CompleteOn(const Snapshot& snapshot,
                                 const ChainTokens& tokens, Chain chain) const;

  const ActivePolicy& policy_;
  const Options options_;
};

}  // namespace pdp

#endif  // PDP_ENGINE_H_
