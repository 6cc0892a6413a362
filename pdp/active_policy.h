#ifndef PDP_ACTIVE_POLICY_H_
#define PDP_ACTIVE_POLICY_H_

#include <memory>
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

  // Makes `snapshot` the active one. Cannot fail: compile first.
  void Activate(std::shared_ptr<const Snapshot> snapshot) {
    absl::MutexLock lock(&mu_);
    active_ = std::move(snapshot);
  }

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const Snapshot> active_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pdp

#endif  // PDP_ACTIVE_POLICY_H_
