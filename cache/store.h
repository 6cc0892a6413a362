#ifndef CACHE_STORE_H_
#define CACHE_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "pdp/v1/admin.pb.h"
#include "pdp/v1/policy.pb.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class WriteBatch;
}  // namespace rocksdb

namespace pdp::cache {

struct StoreOptions {
  // The RocksDB directory. Created, with its column families, if missing.
  std::string path;
  // Sync every write to disk before it returns (a power loss then never
  // loses an acknowledged write). Turn off only in tests and benchmarks.
  bool sync_writes = true;
};

// A replica's durable state in RocksDB: every accepted bundle version, the
// pointer to the active one, and the user directory.
//
// Layout (column families):
//   "bundles"     8-byte big-endian version -> serialized v1::SignedBundle
//   "bundle_info" 8-byte big-endian version -> serialized v1::BundleInfo
//   "meta"        "active" -> 17 bytes: version (8, big-endian),
//                 activated_unix_micros (8, big-endian two's complement),
//                 rollback (1: 0 or 1)
//                 "user_count" -> 8 bytes, big-endian: how many ids in
//                 "users" hold a user (tombstones not counted)
//   "users"       user id -> serialized v1::User (never empty: a stored
//                 user has an id), or an empty value: a tombstone, the id
//                 was deleted and not upserted since
// Writes that belong together (a bundle, its info and the active pointer;
// users or tombstones and the user count) go in one atomic write batch, so
// a crash leaves either all or none. A store written before "user_count"
// existed is counted once, by a scan, when opened.
// A stored value that does not parse is reported as DataLoss naming its key.
//
// Thread-safe: any method may be called from any thread.
class Store {
 public:
  // What the "meta/active" record says.
  struct ActiveBundle {
    uint64_t version = 0;
    int64_t activated_unix_micros = 0;
    bool rollback = false;  // Made active by Activate(..., rollback=true).
  };

  // What the directory holds for one id.
  struct UserEntry {
    std::optional<v1::User> user;  // Set when the id holds a user.
    bool deleted = false;          // The id holds a tombstone.
  };

  // Opens (or creates) the store at options.path.
  // Returns InvalidArgument for an empty path, Unavailable when another
  // process holds the database, DataLoss for a malformed "meta/user_count",
  // or the translated RocksDB error.
  static absl::StatusOr<std::unique_ptr<Store>> Open(
      const StoreOptions& options);

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  ~Store();

  // Stores `bundle` and `info` under info.metadata().version() and makes that
  // version active, in one atomic write batch (synced per options).
  // Returns InvalidArgument for version 0 (a local dev compile is never
  // stored), AlreadyExists if that version is already stored.
  absl::Status PutBundleAndActivate(const v1::BundleInfo& info,
                                    const v1::SignedBundle& bundle,
                                    int64_t activated_unix_micros);

  // Returns NotFound if no bundle with this version has been stored,
  // DataLoss if the stored value does not parse.
  absl::StatusOr<v1::SignedBundle> GetBundle(uint64_t version) const;

  // Every stored bundle's info, in increasing version order.
  // Returns DataLoss if a stored value does not parse.
  absl::StatusOr<std::vector<v1::BundleInfo>> ListBundles() const;

  // The active pointer; nullopt when no bundle was ever activated.
  // Returns DataLoss if the record is malformed.
  absl::StatusOr<std::optional<ActiveBundle>> GetActive() const;

  // Makes a stored version active (versions need not increase here).
  // Returns NotFound if no bundle with this version has been stored.
  absl::Status Activate(uint64_t version, int64_t activated_unix_micros,
                        bool rollback);

  // Inserts or replaces users (and the tombstones of their ids), in one
  // atomic write batch with the user count.
  // Returns InvalidArgument (and writes nothing) if any user has an empty id.
  absl::Status UpsertUsers(const std::vector<v1::User>& users);

  // Deletes users: every id given, stored or not, is left holding a
  // tombstone (the directory revokes: a user the policy also lists is
  // unknown from now on), in one atomic write batch with the user count.
  // Returns how many of `ids` held a user (an id given twice counts once;
  // ids unknown or already deleted count 0).
  absl::StatusOr<int> DeleteUsers(const std::vector<std::string>& ids);

  // What the directory holds for `id`: a user, a tombstone, or neither.
  // Returns DataLoss if the stored value does not parse.
  absl::StatusOr<UserEntry> LookupUser(absl::string_view id) const;

  // The user `id` holds; nullopt when it holds none (absent or a
  // tombstone). Returns DataLoss if the stored value does not parse.
  absl::StatusOr<std::optional<v1::User>> GetUser(absl::string_view id) const;

  // The exact number of ids holding a user (tombstones not counted), kept
  // with every user write. Cheap: no I/O.
  uint64_t UserCount() const;

 private:
  // The ids among `ids` that hold a user now. REQUIRES: users_mu_ held.
  absl::StatusOr<std::vector<bool>> HoldUsers(
      const std::vector<absl::string_view>& ids) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(users_mu_);
  // Writes `batch` plus the user count `count` (synced per options) and
  // then makes `count` the in-memory one. REQUIRES: users_mu_ held.
  absl::Status WriteUsers(rocksdb::WriteBatch& batch, uint64_t count,
                          absl::string_view what)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(users_mu_);

  Store(const StoreOptions& options, std::unique_ptr<rocksdb::DB> db,
        std::vector<rocksdb::ColumnFamilyHandle*> handles);

  // Reads "meta/user_count" into user_count_, or counts the users of a
  // store written before it and stores the count.
  absl::Status LoadUserCount();

  // Whether `version` is in "bundle_info".
  absl::StatusOr<bool> HasBundle(uint64_t version) const;

  const StoreOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  // Owned; destroyed before db_. Indexed by the kCf* constants in store.cc.
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  // Serializes check-then-write sequences on bundles and the active pointer
  // (RocksDB itself is thread-safe; this makes AlreadyExists/NotFound exact).
  absl::Mutex bundles_mu_;
  // Serializes user writes so DeleteUsers' count and the user count are
  // exact.
  mutable absl::Mutex users_mu_;
  uint64_t user_count_ ABSL_GUARDED_BY(users_mu_) = 0;
};

}  // namespace pdp::cache

#endif  // CACHE_STORE_H_
