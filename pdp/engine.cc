#include "pdp/engine.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "pdp/evaluator.h"

namespace pdp {

absl::StatusOr<std::shared_ptr<const Snapshot>> Engine::Active(
    absl::Time deadline) const {
  std::shared_ptr<const Snapshot> snapshot = policy_.Get();
  if (snapshot == nullptr) {
    const std::string reason = policy_.UnavailableReason();
    return absl::UnavailableError(
        reason.empty()
            ? "no policy is active on this server; it decides nothing until "
              "one is"
            : absl::StrCat(reason,
                           "; this server decides nothing until a push or an "
                           "Activate repairs it"));
  }
  if (deadline != absl::InfiniteFuture() && deadline < absl::Now()) {
    return absl::DeadlineExceededError(
        "the deadline passed before the decision was made");
  }
  return snapshot;
}

absl::StatusOr<Chain> Engine::CompleteOn(const Snapshot& snapshot,
                                       const ChainTokens& tokens,
                                       Chain chain) const {
  if (tokens.empty() || options_.tokens == nullptr) return chain;
  const TokenSource::Current trust = options_.tokens->current();
  return ApplyTokens(snapshot, *trust.verifier, *trust.settings, tokens,
                     std::move(chain), absl::Now());
}

absl::StatusOr<Engine::Checked> Engine::Check(Request request,
                                              const ChainTokens& tokens,
                                              absl::Time deadline) const {
  absl::StatusOr<std::shared_ptr<const Snapshot>> snapshot = Active(deadline);
  if (!snapshot.ok()) return snapshot.status();
  if (!tokens.empty()) {
    absl::StatusOr<Chain> chain =
        CompleteOn(**snapshot, tokens, std::move(request.chain));
    if (!chain.ok()) return chain.status();
    request.chain = *std::move(chain);
  }
  // Built in place: the request is moved once, the decision once.
  absl::StatusOr<Checked> checked(absl::in_place);
  checked->snapshot = *std::move(snapshot);
  checked->request = std::move(request);
  absl::StatusOr<Decision> decision =
      pdp::Check(*checked->snapshot, checked->request, options_.users);
  if (!decision.ok()) return decision.status();
  checked->decision = *std::move(decision);
  return checked;
}

absl::StatusOr<Engine::BatchChecked> Engine::BatchCheck(
    std::vector<Request> requests, const std::vector<ChainTokens>& tokens,
    absl::Time deadline) const {
  absl::StatusOr<std::shared_ptr<const Snapshot>> snapshot =
      Active(absl::InfiniteFuture());
  if (!snapshot.ok()) return snapshot.status();
  if (!tokens.empty()) {
    for (size_t i = 0; i < requests.size() && i < tokens.size(); ++i) {
      if (tokens[i].empty()) continue;
      absl::StatusOr<Chain> chain =
          CompleteOn(**snapshot, tokens[i], std::move(requests[i].chain));
      if (!chain.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("checks[", i, "]: ", chain.status().message()));
      }
      requests[i].chain = *std::move(chain);
    }
  }
  if (!requests.empty() && deadline != absl::InfiniteFuture() &&
      deadline < absl::Now()) {
    return absl::DeadlineExceededError(
        "the deadline passed before the decision was made");
  }
  absl::StatusOr<std::vector<Decision>> decisions =
      pdp::BatchCheck(**snapshot, requests, options_.users);
  if (!decisions.ok()) return decisions.status();
  return BatchChecked{*std::move(snapshot), std::move(requests),
                      *std::move(decisions)};
}

absl::StatusOr<Engine::Filtered> Engine::FilterTools(
    Chain chain, const ChainTokens& tokens, const ToolSelection& selection,
    absl::Time deadline) const {
  absl::StatusOr<std::shared_ptr<const Snapshot>> snapshot = Active(deadline);
  if (!snapshot.ok()) return snapshot.status();
  absl::StatusOr<Chain> completed =
      CompleteOn(**snapshot, tokens, std::move(chain));
  if (!completed.ok()) return completed.status();
  absl::StatusOr<std::vector<VisibleTool>> visible =
      pdp::FilterTools(**snapshot, *completed, selection, options_.users);
  if (!visible.ok()) return visible.status();
  return Filtered{*std::move(snapshot), *std::move(completed),
                  *std::move(visible)};
}

absl::StatusOr<Engine::Completed> Engine::Complete(
    Chain chain, const ChainTokens& tokens) const {
  absl::StatusOr<std::shared_ptr<const Snapshot>> snapshot = Active();
  if (!snapshot.ok()) return snapshot.status();
  absl::StatusOr<Chain> completed =
      CompleteOn(**snapshot, tokens, std::move(chain));
  if (!completed.ok()) return completed.status();
  return Completed{*std::move(snapshot), *std::move(completed)};
}

absl::StatusOr<Engine::Explained> Engine::Explain(
    Request request, const ChainTokens& tokens,
    const std::string& source_dir) const {
  absl::StatusOr<Checked> checked = Check(std::move(request), tokens);
  if (!checked.ok()) return checked.status();
  ExplainOptions options;
  options.source_dir = source_dir;
  options.users = options_.users;
  std::vector<ExplainLine> lines = pdp::Explain(
      *checked->snapshot, checked->request, checked->decision, options);
  return Explained{std::move(checked->snapshot), std::move(checked->request),
                   std::move(checked->decision), std::move(lines)};
}

}  // namespace pdp
