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
  // Most entries (users and tombstones) kept in memory. Split evenly over
  // the shards; a full shard is emptied before it takes a new entry.
  size_t capacity = size_t{1} << 20;
  // Independently locked parts of the cache (at least 1).
  int shards = 64;
  // Most bytes the cached entries may take, as EntryBytes() accounts them
  // (the id, the user with its roles and attributes, the shared pointer's
  // control block, the map's slots and malloc's rounding). Split evenly
  // over the shards like `capacity`; an entry larger than its shard's share
  // is not cached at all. Callers choose the ids they look up: this, not
  // `capacity`, is what bounds the memory they can make the cache hold.
  size_t max_bytes = size_t{64} << 20;
};

// The user directory: users in the Store, read through an in-memory cache.
//
// Lookup() caches users and tombstones, never ids the Store does not hold
// (RocksDB's bloom filter answers those without reading data blocks), so an
// unknown id costs no memory however long it is. Upsert() and Delete()
// write through to the Store and drop the cached entries of the ids they
// touch before returning, so the very next Lookup() sees the write (a
// deleted user is unknown at once). A Lookup() racing with a write may
// return the value from before the write, but never caches it after the
// write has returned.
//
// Eviction is deliberately simple: when a shard reaches its share of
// `capacity` or `max_bytes`, it is cleared. Lookups of cleared ids go to
// RocksDB again.
//
// Thread-safe: all methods may be called concurrently. The Store is borrowed
// and must outlive the directory; writes to the Store's users that bypass
// this directory are not seen until the cached entries are evicted.
class UserDirectory {
 public:
  // What the directory says of one id.
  struct Entry {
    // The user, when the id holds one.
    std::shared_ptr<const v1::User> user;
    // The id was deleted and not upserted since (a tombstone): the user is
    // unknown even if the policy lists it.
    bool deleted = false;
  };

  explicit UserDirectory(Store& store, UserDirectoryOptions options = {});

  UserDirectory(const UserDirectory&) = delete;
  UserDirectory& operator=(const UserDirectory&) = delete;

  // The user or tombstone `id` holds; neither when it holds nothing.
  // Returns the Store's error (Unavailable, DataLoss) when it cannot be
  // read; nothing is cached then.
  absl::StatusOr<Entry> TryLookup(absl::string_view id) const;

  // TryLookup() for checks, failing closed: when the Store cannot be read,
  // the id is reported deleted, which denies with USER_UNKNOWN rather than
  // granting anything, whatever the policy lists.
  Entry Lookup(absl::string_view id) const {
    absl::StatusOr<Entry> entry = TryLookup(id);
    if (!entry.ok()) return {nullptr, /*deleted=*/true};
    return *std::move(entry);
  }

  // Lookup(id).user: nullptr when the id holds no user.
  std::shared_ptr<const v1::User> Find(absl::string_view id) const {
    return Lookup(id).user;
  }

  // Writes through to Store::UpsertUsers (same errors), then invalidates.
  // An upsert removes the id's tombstone.
  absl::Status Upsert(const std::vector<v1::User>& users);

  // Writes through to Store::DeleteUsers (same result: how many ids held a
  // user; every id is left holding a tombstone), then invalidates.
  absl::StatusOr<int> Delete(const std::vector<std::string>& ids);

  // The bytes the cached entries take now, as EntryBytes() accounts them;
  // at most options.max_bytes.
  size_t CachedBytes() const;
  // How many entries are cached now; at most options.capacity.
  size_t CachedEntries() const;

  // What caching `user` (or a tombstone, when nullptr) under `id` costs.
  static size_t EntryBytes(absl::string_view id, const v1::User* user);

 private:
  struct Cached {
    std::shared_ptr<const v1::User> user;
    bool deleted = false;
    size_t bytes = 0;  // EntryBytes() of this entry.
  };
  using Map = absl::flat_hash_map<std::string, Cached>;

  struct Shard {
    mutable absl::Mutex mu;
    Map entries ABSL_GUARDED_BY(mu);
    size_t bytes ABSL_GUARDED_BY(mu) = 0;
    // Bumped by every invalidation; a Lookup() whose Store read started
    // before a bump does not cache what it read.
    uint64_t generation ABSL_GUARDED_BY(mu) = 0;
  };

  Shard& ShardFor(absl::string_view id) const;
  void Invalidate(absl::string_view id);

  Store& store_;
  const size_t shard_capacity_;
  const size_t shard_max_bytes_;
  const std::unique_ptr<Shard[]> shards_;
  const size_t num_shards_;
};

}  // namespace pdp::cache

#endif  // CACHE_USER_DIRECTORY_H_
