#ifndef PDP_ACTIVE_POLICY_H_
#define PDP_ACTIVE_POLICY_H_

#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "pdp/snapshot.h"

namespace pdp {

// The snapshot that decisions are made against right now.
// Thread-safe: Get() runs on any thread while Activate() swaps snapshots; a
// decision in flight finishes on the snapshot it started with.
class ActivePolicy {
 public:
  // Returns nullptr while no policy has been activated: callers must then
  // answer Unavailable (fail closed), never decide.
  std::shared_ptr<const Snapshot> Get() const {
    absl::MutexLock lock(&mu_);
    return active_;
  }

  // Makes `snapshot` the active one. Cannot fail: compile first. A non-null
  // snapshot clears the reason set by SetUnavailableReason().
  void Activate(std::shared_ptr<const Snapshot> snapshot) {
    absl::MutexLock lock(&mu_);
    if (snapshot != nullptr) unavailable_reason_.clear();
    active_ = std::move(snapshot);
  }

  // Why no policy is active, for the UNAVAILABLE answers while Get() is
  // nullptr (e.g. "the stored active bundle v2 cannot be served: verify:
  // ..."); empty for the plain "nothing was ever activated".
  void SetUnavailableReason(std::string reason) {
    absl::MutexLock lock(&mu_);
    unavailable_reason_ = std::move(reason);
  }
  std::string UnavailableReason() const {
    absl::MutexLock lock(&mu_);
    return unavailable_reason_;
  }

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const Snapshot> active_ ABSL_GUARDED_BY(mu_);
  std::string unavailable_reason_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pdp

#endif  // PDP_ACTIVE_POLICY_H_
