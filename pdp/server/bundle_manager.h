#ifndef PDP_SERVER_BUNDLE_MANAGER_H_
#define PDP_SERVER_BUNDLE_MANAGER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "cache/store.h"
#include "pdp/signing.h"
#include "pdp/snapshot.h"
#include "pdp/v1/admin.pb.h"

namespace pdp::server {

// Takes signed bundles from push to active: verify the signature, parse,
// check the version increases, compile, store (bundle and active pointer in
// one synced batch), and only then activate. A failure at any step leaves
// the active policy untouched; its status names the step ("verify: ...",
// "version: ...", "compile: ...", "store: ...").
// Thread-safe: changes are serialized; `activate` is called under the lock.
class BundleManager {
 public:
  // Makes a snapshot the one decisions are made against.
  using ActivateFn = std::function<void(std::shared_ptr<const Snapshot>)>;

  struct Active {
    v1::BundleInfo info;
    int64_t activated_unix_micros = 0;
    // Push only: these exact signed bytes were already the active version
    // (a retried push); nothing was written.
    bool already_active = false;
  };

  BundleManager(cache::Store& store, TrustedKeys keys, ActivateFn activate)
      : store_(store), keys_(std::move(keys)), activate_(std::move(activate)) {}

  // The store's active bundle, verified and compiled, for the server to
  // serve at start; nullptr when the store has none. Does not activate.
  // Returns the error of a stored active bundle that cannot be served,
  // e.g. PermissionDenied "the stored active bundle v2 does not verify:
  // ..." (its key is no longer trusted), InvalidArgument "... does not
  // compile: ...", or the store's error (DataLoss, Unavailable).
  absl::StatusOr<std::shared_ptr<const Snapshot>> LoadActive();

  // Idempotent: pushing the signed bytes of the active version again (a
  // retry whose first answer was lost) returns OK with already_active and
  // writes nothing. Otherwise returns PermissionDenied (verify),
  // InvalidArgument (parse, compile), FailedPrecondition (version not
  // greater than the active one, including the same bytes of an older
  // stored version: a push never activates an older version implicitly),
  // AlreadyExists (the version is stored above the active one: an operator
  // rolled back from it, and only Activate undoes that), or the store's
  // error.
  absl::StatusOr<Active> Push(const v1::SignedBundle& bundle);

  // Makes a stored version active again: an explicit rollback (or roll
  // forward). NotFound if the version is not stored; as Push otherwise.
  absl::StatusOr<Active> Activate(uint64_t version);

  // What the store says is active; nullopt when nothing stored is.
  absl::StatusOr<std::optional<Active>> GetActive() const;

 private:
  // Verifies, parses and compiles a stored or pushed bundle.
  absl::StatusOr<std::pair<v1::Bundle, std::shared_ptr<const Snapshot>>>
  Open(const v1::SignedBundle& bundle) const;

  // The stored info of `version`; empty if the store has none.
  absl::StatusOr<v1::BundleInfo> InfoOf(uint64_t version) const;

  cache::Store& store_;
  const TrustedKeys keys_;
  const ActivateFn activate_;
  absl::Mutex mu_;  // Serializes changes to the active bundle.
};

}  // namespace pdp::server

#endif  // PDP_SERVER_BUNDLE_MANAGER_H_
