#include "cache/store.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/memory/memory.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/slice.h"
#include "rocksdb/write_batch.h"

namespace pdp::cache {
namespace {

// Column families, in the order of handles_.
enum Cf : int { kCfDefault = 0, kCfBundles, kCfBundleInfo, kCfMeta, kCfUsers };
constexpr const char* kCfNames[] = {"default", "bundles", "bundle_info",
                                    "meta", "users"};
constexpr char kActiveKey[] = "active";
constexpr size_t kActiveRecordSize = 17;
constexpr char kUserCountKey[] = "user_count";

// The one place a rocksdb::Status becomes an absl::Status.
absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  const std::string message = absl::StrCat(what, ": ", s.ToString());
  if (s.IsNotFound()) return absl::NotFoundError(message);
  if (s.IsCorruption()) return absl::DataLossError(message);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(message);
  if (s.IsNotSupported()) return absl::UnimplementedError(message);
  if (s.IsAborted()) return absl::AbortedError(message);
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain() || s.IsIOError()) {
    // IOError covers "lock held by another process" and full or failing disks.
    return absl::UnavailableError(message);
  }
  return absl::InternalError(message);
}

void PutBigEndian64(uint64_t v, char* out) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

uint64_t GetBigEndian64(const char* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

std::string VersionKey(uint64_t version) {
  std::string key(8, '\0');
  PutBigEndian64(version, key.data());
  return key;
}

std::string EncodeActive(const Store::ActiveBundle& active) {
  std::string out(kActiveRecordSize, '\0');
  PutBigEndian64(active.version, out.data());
  PutBigEndian64(static_cast<uint64_t>(active.activated_unix_micros),
                 out.data() + 8);
  out[16] = active.rollback ? 1 : 0;
  return out;
}

absl::StatusOr<Store::ActiveBundle> DecodeActive(absl::string_view value) {
  if (value.size() != kActiveRecordSize ||
      (value[16] != 0 && value[16] != 1)) {
    return absl::DataLossError(
        absl::StrCat("meta/", kActiveKey, ": malformed record of ",
                     value.size(), " bytes"));
  }
  Store::ActiveBundle active;
  active.version = GetBigEndian64(value.data());
  active.activated_unix_micros =
      static_cast<int64_t>(GetBigEndian64(value.data() + 8));
  active.rollback = value[16] == 1;
  return active;
}

template <typename Proto>
absl::StatusOr<Proto> Parse(absl::string_view value, absl::string_view key) {
  Proto proto;
  if (!proto.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return absl::DataLossError(
        absl::StrCat(key, ": stored value does not parse as ",
                     Proto::descriptor()->full_name()));
  }
  return proto;
}

std::string BundleKeyName(absl::string_view cf, uint64_t version) {
  return absl::StrCat(cf, "/version ", version);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> Store::Open(
    const StoreOptions& options) {
  if (options.path.empty()) {
    return absl::InvalidArgumentError("store path is empty");
  }
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;

  rocksdb::ColumnFamilyOptions default_cf;
  // Users are looked up by point gets, often for ids that are absent:
  // a bloom filter answers those without reading data blocks.
  // OptimizeForPointLookup adds one (and a hashed block index and a
  // block cache of its own).
  rocksdb::ColumnFamilyOptions users_cf;
  users_cf.OptimizeForPointLookup(/*block_cache_size_mb=*/64);

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (int cf = kCfDefault; cf <= kCfUsers; ++cf) {
    descriptors.emplace_back(kCfNames[cf],
                             cf == kCfUsers ? users_cf : default_cf);
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  absl::Status s = FromRocks(
      rocksdb::DB::Open(db_options, options.path, descriptors, &handles, &raw),
      absl::StrCat("opening store ", options.path));
  if (!s.ok()) return s;
  std::unique_ptr<Store> store = absl::WrapUnique(new Store(
      options, std::unique_ptr<rocksdb::DB>(raw), std::move(handles)));
  if (absl::Status counted = store->LoadUserCount(); !counted.ok()) {
    return counted;
  }
  return store;
}

absl::Status Store::LoadUserCount() {
  absl::MutexLock lock(&users_mu_);
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), handles_[kCfMeta],
                               kUserCountKey, &value);
  if (s.ok()) {
    if (value.size() != 8) {
      return absl::DataLossError(absl::StrCat("meta/", kUserCountKey,
                                              ": malformed record of ",
                                              value.size(), " bytes"));
    }
    user_count_ = GetBigEndian64(value.data());
    return absl::OkStatus();
  }
  if (!s.IsNotFound()) {
    return FromRocks(s, absl::StrCat("reading meta/", kUserCountKey));
  }
  // A store from before the count: count once, then keep it.
  uint64_t count = 0;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), handles_[kCfUsers]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (!it->value().empty()) ++count;
  }
  if (absl::Status status = FromRocks(it->status(), "counting users");
      !status.ok()) {
    return status;
  }
  rocksdb::WriteBatch batch;
  return WriteUsers(batch, count, "storing the user count");
}

Store::Store(const StoreOptions& options, std::unique_ptr<rocksdb::DB> db,
             std::vector<rocksdb::ColumnFamilyHandle*> handles)
    : options_(options), db_(std::move(db)), handles_(std::move(handles)) {}

Store::~Store() {
  for (rocksdb::ColumnFamilyHandle* handle : handles_) {
    db_->DestroyColumnFamilyHandle(handle);
  }
  db_->Close();
}

absl::StatusOr<bool> Store::HasBundle(uint64_t version) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), handles_[kCfBundleInfo],
                               VersionKey(version), &value);
  if (s.IsNotFound()) return false;
  absl::Status status =
      FromRocks(s, absl::StrCat("reading ", BundleKeyName("bundle_info", version)));
  if (!status.ok()) return status;
  return true;
}

absl::Status Store::PutBundleAndActivate(const v1::BundleInfo& info,
                                         const v1::SignedBundle& bundle,
                                         int64_t activated_unix_micros) {
  const uint64_t version = info.metadata().version();
  if (version == 0) {
    return absl::InvalidArgumentError(
        "bundle version 0 (a local dev compile) cannot be stored");
  }
  absl::MutexLock lock(&bundles_mu_);
  absl::StatusOr<bool> exists = HasBundle(version);
  if (!exists.ok()) return exists.status();
  if (*exists) {
    return absl::AlreadyExistsError(
        absl::StrCat("bundle version ", version, " is already stored"));
  }
  const std::string key = VersionKey(version);
  rocksdb::WriteBatch batch;
  rocksdb::Status s = batch.Put(handles_[kCfBundles], key,
                                bundle.SerializeAsString());
  if (s.ok()) {
    s = batch.Put(handles_[kCfBundleInfo], key, info.SerializeAsString());
  }
  if (s.ok()) {
    s = batch.Put(handles_[kCfMeta], kActiveKey,
                  EncodeActive({version, activated_unix_micros, false}));
  }
  if (s.ok()) {
    rocksdb::WriteOptions write;
    write.sync = options_.sync_writes;
    s = db_->Write(write, &batch);
  }
  return FromRocks(s, absl::StrCat("storing bundle version ", version));
}

absl::StatusOr<v1::SignedBundle> Store::GetBundle(uint64_t version) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), handles_[kCfBundles],
                               VersionKey(version), &value);
  if (s.IsNotFound()) {
    return absl::NotFoundError(
        absl::StrCat("bundle version ", version, " is not stored"));
  }
  absl::Status status =
      FromRocks(s, absl::StrCat("reading ", BundleKeyName("bundles", version)));
  if (!status.ok()) return status;
  return Parse<v1::SignedBundle>(value, BundleKeyName("bundles", version));
}

absl::StatusOr<std::vector<v1::BundleInfo>> Store::ListBundles() const {
  std::vector<v1::BundleInfo> out;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), handles_[kCfBundleInfo]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const rocksdb::Slice key = it->key();
    if (key.size() != 8) {
      return absl::DataLossError(absl::StrCat(
          "bundle_info: malformed key ", absl::BytesToHexString(
                                             absl::string_view(key.data(), key.size()))));
    }
    const uint64_t version = GetBigEndian64(key.data());
    absl::StatusOr<v1::BundleInfo> info = Parse<v1::BundleInfo>(
        absl::string_view(it->value().data(), it->value().size()),
        BundleKeyName("bundle_info", version));
    if (!info.ok()) return info.status();
    out.push_back(*std::move(info));
  }
  absl::Status s = FromRocks(it->status(), "listing bundles");
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::optional<Store::ActiveBundle>> Store::GetActive() const {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), handles_[kCfMeta], kActiveKey, &value);
  if (s.IsNotFound()) return std::optional<ActiveBundle>();
  absl::Status status = FromRocks(s, "reading meta/active");
  if (!status.ok()) return status;
  absl::StatusOr<ActiveBundle> active = DecodeActive(value);
  if (!active.ok()) return active.status();
  return std::optional<ActiveBundle>(*active);
}

absl::Status Store::Activate(uint64_t version, int64_t activated_unix_micros,
                             bool rollback) {
  absl::MutexLock lock(&bundles_mu_);
  absl::StatusOr<bool> exists = HasBundle(version);
  if (!exists.ok()) return exists.status();
  if (!*exists) {
    return absl::NotFoundError(
        absl::StrCat("bundle version ", version, " is not stored"));
  }
  rocksdb::WriteOptions write;
  write.sync = options_.sync_writes;
  return FromRocks(
      db_->Put(write, handles_[kCfMeta], kActiveKey,
               EncodeActive({version, activated_unix_micros, rollback})),
      absl::StrCat("activating bundle version ", version));
}

absl::StatusOr<std::vector<bool>> Store::HoldUsers(
    const std::vector<absl::string_view>& ids) const {
  std::vector<bool> held(ids.size(), false);
  if (ids.empty()) return held;
  std::vector<rocksdb::Slice> keys;
  keys.reserve(ids.size());
  for (absl::string_view id : ids) keys.emplace_back(id.data(), id.size());
  std::vector<rocksdb::PinnableSlice> values(ids.size());
  std::vector<rocksdb::Status> statuses(ids.size());
  db_->MultiGet(rocksdb::ReadOptions(), handles_[kCfUsers], keys.size(),
                keys.data(), values.data(), statuses.data());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (statuses[i].ok()) {
      held[i] = !values[i].empty();
    } else if (!statuses[i].IsNotFound()) {
      return FromRocks(statuses[i], absl::StrCat("reading users/", ids[i]));
    }
  }
  return held;
}

absl::Status Store::WriteUsers(rocksdb::WriteBatch& batch, uint64_t count,
                               absl::string_view what) {
  std::string encoded(8, '\0');
  PutBigEndian64(count, encoded.data());
  rocksdb::Status s = batch.Put(handles_[kCfMeta], kUserCountKey, encoded);
  if (s.ok()) {
    rocksdb::WriteOptions write;
    write.sync = options_.sync_writes;
    s = db_->Write(write, &batch);
  }
  absl::Status status = FromRocks(s, what);
  if (status.ok()) user_count_ = count;
  return status;
}

absl::Status Store::UpsertUsers(const std::vector<v1::User>& users) {
  rocksdb::WriteBatch batch;
  std::string value;
  absl::flat_hash_set<absl::string_view> seen;
  std::vector<absl::string_view> ids;
  ids.reserve(users.size());
  for (size_t i = 0; i < users.size(); ++i) {
    const v1::User& user = users[i];
    if (user.id().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("user #", i, " in the batch has an empty id"));
    }
    value.clear();
    user.SerializeToString(&value);
    absl::Status s = FromRocks(batch.Put(handles_[kCfUsers], user.id(), value),
                               "batching users");
    if (!s.ok()) return s;
    if (seen.insert(user.id()).second) ids.push_back(user.id());
  }
  if (users.empty()) return absl::OkStatus();
  absl::MutexLock lock(&users_mu_);
  absl::StatusOr<std::vector<bool>> held = HoldUsers(ids);
  if (!held.ok()) return held.status();
  uint64_t count = user_count_;
  for (bool h : *held) count += h ? 0 : 1;
  return WriteUsers(batch, count,
                    absl::StrCat("storing ", users.size(), " users"));
}

absl::StatusOr<int> Store::DeleteUsers(const std::vector<std::string>& ids) {
  rocksdb::WriteBatch batch;
  absl::flat_hash_set<absl::string_view> seen;
  std::vector<absl::string_view> distinct;
  for (const std::string& id : ids) {
    if (!seen.insert(id).second) continue;
    distinct.push_back(id);
    // The empty value is the tombstone.
    absl::Status status =
        FromRocks(batch.Put(handles_[kCfUsers], id, rocksdb::Slice()),
                  "batching deletes");
    if (!status.ok()) return status;
  }
  if (distinct.empty()) return 0;
  absl::MutexLock lock(&users_mu_);
  absl::StatusOr<std::vector<bool>> held = HoldUsers(distinct);
  if (!held.ok()) return held.status();
  int existed = 0;
  for (bool h : *held) existed += h ? 1 : 0;
  const uint64_t count =
      user_count_ >= static_cast<uint64_t>(existed) ? user_count_ - existed : 0;
  absl::Status s = WriteUsers(
      batch, count, absl::StrCat("deleting ", distinct.size(), " users"));
  if (!s.ok()) return s;
  return existed;
}

absl::StatusOr<Store::UserEntry> Store::LookupUser(absl::string_view id) const {
  rocksdb::PinnableSlice value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), handles_[kCfUsers],
                               rocksdb::Slice(id.data(), id.size()), &value);
  UserEntry entry;
  if (s.IsNotFound()) return entry;
  const std::string key = absl::StrCat("users/", id);
  absl::Status status = FromRocks(s, absl::StrCat("reading ", key));
  if (!status.ok()) return status;
  if (value.empty()) {
    entry.deleted = true;
    return entry;
  }
  absl::StatusOr<v1::User> user =
      Parse<v1::User>(absl::string_view(value.data(), value.size()), key);
  if (!user.ok()) return user.status();
  entry.user = *std::move(user);
  return entry;
}

absl::StatusOr<std::optional<v1::User>> Store::GetUser(
    absl::string_view id) const {
  absl::StatusOr<UserEntry> entry = LookupUser(id);
  if (!entry.ok()) return entry.status();
  return std::move(entry->user);
}

uint64_t Store::UserCount() const {
  absl::MutexLock lock(&users_mu_);
  return user_count_;
}

}  // namespace pdp::cache
