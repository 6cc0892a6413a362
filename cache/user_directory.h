#ifndef CACHE_USER_DIRECTORY_H_
#define CACHE_USER_DIRECTORY_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "cache/store.h"
#include "pdp/v1/policy.pb.h"

namespace pdp::cache {

struct UserDirectoryOptions {
  // Most ids (users found and ids known to be absent) kept in memory.
  // Split evenly over the shards; a full shard is emptied before it takes
  // a new entry.
  size_t capacity = size_t{1} << 20;
  // Independently locked parts of the cache (at least 1).
  int shards = 64;
};

// The user directory: users in the Store, read through an in-memory cache.
//
// Find() caches hits and misses. Upsert() and Delete() write through to the
// Store and drop the cached entries of the ids they touch before returning,
// so the very next Find() sees the write (a deleted user is unknown at once).
// A Find() racing with a write may return the value from before the write,
// but never caches it after the write has returned.
//
// Eviction is deliberately simple: when a shard reaches its share of
// `capacity`, it is cleared. Lookups of cleared ids go to RocksDB again.
//
// Thread-safe: all methods may be called concurrently. The Store is borrowed
// and must outlive the directory; writes to the Store's users that bypass
// this directory are not seen until the cached entries are evicted.
class UserDirectory {
 public:
  explicit UserDirectory(Store& store, UserDirectoryOptions options = {});

  UserDirectory(const UserDirectory&) = delete;
  UserDirectory& operator=(const UserDirectory&) = delete;

  // Returns the user, or nullptr when the id is not in the directory.
  // Fails closed: when the Store cannot be read (I/O error, DataLoss), the
  // user is treated as unknown (nullptr, not cached), which denies with
  // USER_UNKNOWN rather than granting anything.
  std::shared_ptr<const v1::User> Find(absl::string_view id) const;

  // Writes through to Store::UpsertUsers (same errors), then invalidates.
  absl::Status Upsert(const std::vector<v1::User>& users);

  // Writes through to Store::DeleteUsers (same result), then invalidates.
  absl::StatusOr<int> Delete(const std::vector<std::string>& ids);

 private:
  // A cached nullptr records that the id is absent from the Store.
  using Map = absl::flat_hash_map<std::string, std::shared_ptr<const v1::User>>;

  struct Shard {
    mutable absl::Mutex mu;
    Map entries ABSL_GUARDED_BY(mu);
    // Bumped by every invalidation; a Find() whose Store read started
    // before a bump does not cache what it read.
    uint64_t generation ABSL_GUARDED_BY(mu) = 0;
  };

  Shard& ShardFor(absl::string_view id) const;
  void Invalidate(absl::string_view id);

  Store& store_;
  const size_t shard_capacity_;
  const std::unique_ptr<Shard[]> shards_;
  const size_t num_shards_;
};

}  // namespace pdp::cache

#endif  // CACHE_USER_DIRECTORY_H_
