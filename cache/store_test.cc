#include "cache/store.h"

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"

namespace pdp::cache {
namespace {

// A fresh directory under TEST_TMPDIR for each test.
std::string TempStorePath(absl::string_view name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name);
  rocksdb::DestroyDB(dir, rocksdb::Options());
  return dir;
}

std::unique_ptr<Store> OpenOrDie(const std::string& path) {
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open({path, true});
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

v1::BundleInfo Info(uint64_t version) {
  v1::BundleInfo info;
  info.mutable_metadata()->set_version(version);
  info.mutable_metadata()->set_source_commit(absl::StrCat("commit", version));
  info.set_key_id("ci");
  info.set_stored_unix_micros(1000 + version);
  info.set_size_bytes(10 * version);
  return info;
}

v1::SignedBundle Bundle(uint64_t version) {
  v1::SignedBundle bundle;
  bundle.set_bundle(absl::StrCat("bytes of ", version, std::string(1, '\0')));
  bundle.set_signature(absl::StrCat("sig", version));
  bundle.set_key_id("ci");
  return bundle;
}

v1::User MakeUser(absl::string_view id, absl::string_view role) {
  v1::User user;
  user.set_id(std::string(id));
  user.add_roles(std::string(role));
  (*user.mutable_attributes())["dept"] = "eng";
  return user;
}

// Writes `value` under `key` in column family `cf`, bypassing Store;
// deletes the key when `value` is nullopt.
void WriteRaw(const std::string& path, const std::string& cf,
              const std::string& key, std::optional<std::string> value) {
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path,
                                              &names)
                  .ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : names) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), path, descriptors,
                                &handles, &db)
                  .ok());
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == cf) {
      EXPECT_TRUE((value.has_value()
                       ? db->Put(rocksdb::WriteOptions(), handles[i], key,
                                 *value)
                       : db->Delete(rocksdb::WriteOptions(), handles[i], key))
                      .ok());
    }
  }
  for (rocksdb::ColumnFamilyHandle* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
}

std::string VersionKey(uint64_t v) {
  std::string key(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) key[i] = static_cast<char>(v & 0xff);
  return key;
}

TEST(StoreTest, OpenRejectsEmptyPath) {
  EXPECT_EQ(Store::Open({}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(StoreTest, SecondOpenOfSameDirectoryIsUnavailable) {
  const std::string path = TempStorePath("locked");
  std::unique_ptr<Store> store = OpenOrDie(path);
  EXPECT_EQ(Store::Open({path}).status().code(), absl::StatusCode::kUnavailable);
}

TEST(StoreTest, EmptyStoreHasNothing) {
  std::unique_ptr<Store> store = OpenOrDie(TempStorePath("empty"));
  absl::StatusOr<std::optional<Store::ActiveBundle>> active = store->GetActive();
  ASSERT_TRUE(active.ok()) << active.status();
  EXPECT_FALSE(active->has_value());
  absl::StatusOr<std::vector<v1::BundleInfo>> list = store->ListBundles();
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
  EXPECT_EQ(store->GetBundle(1).status().code(), absl::StatusCode::kNotFound);
}

TEST(StoreTest, PutGetListInVersionOrder) {
  std::unique_ptr<Store> store = OpenOrDie(TempStorePath("put_get_list"));
  // 256 and 1 would sort wrongly with a little-endian key.
  for (uint64_t v : {2u, 256u, 1u}) {
    ASSERT_TRUE(store->PutBundleAndActivate(Info(v), Bundle(v), 5000 + v).ok());
  }
  absl::StatusOr<v1::SignedBundle> got = store->GetBundle(256);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->SerializeAsString(), Bundle(256).SerializeAsString());

  absl::StatusOr<std::vector<v1::BundleInfo>> list = store->ListBundles();
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].metadata().version(), 1u);
  EXPECT_EQ((*list)[1].metadata().version(), 2u);
  EXPECT_EQ((*list)[2].metadata().version(), 256u);
  EXPECT_EQ((*list)[2].SerializeAsString(), Info(256).SerializeAsString());

  absl::Status missing = store->GetBundle(7).status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.message().find("7"), absl::string_view::npos) << missing;
}

TEST(StoreTest, PutMovesActivePointerToTheLastPut) {
  std::unique_ptr<Store> store = OpenOrDie(TempStorePath("active"));
  ASSERT_TRUE(store->PutBundleAndActivate(Info(3), Bundle(3), 111).ok());
  ASSERT_TRUE(store->PutBundleAndActivate(Info(4), Bundle(4), 222).ok());
  absl::StatusOr<std::optional<Store::ActiveBundle>> active = store->GetActive();
  ASSERT_TRUE(active.ok() && active->has_value());
  EXPECT_EQ((*active)->version, 4u);
  EXPECT_EQ((*active)->activated_unix_micros, 222);
  EXPECT_FALSE((*active)->rollback);
}

TEST(StoreTest, PutOfStoredVersionIsAlreadyExistsAndChangesNothing) {
  std::unique_ptr<Store> store = OpenOrDie(TempStorePath("already_exists"));
  ASSERT_TRUE(store->PutBundleAndActivate(Info(1), Bundle(1), 10).ok());
  ASSERT_TRUE(store->PutBundleAndActivate(Info(2), Bundle(2), 20).ok());
  v1::SignedBundle other = Bundle(1);
  other.set_signature("different");
  EXPECT_EQ(store->PutBundleAndActivate(Info(1), other, 30).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ((*store->GetActive())->version, 2u);
  EXPECT_EQ(store->GetBundle(1)->signature(), "sig1");
}

TEST(StoreTest, VersionZeroIsNotStored) {
  std::unique_ptr<Store> store = OpenOrDie(TempStorePath("zero"));
  EXPECT_EQ(store->PutBundleAndActivate(Info(0), Bundle(0), 1).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(store->GetActive()->has_value());
}

TEST(StoreTest, ActivateRollsBackAndForward) {
  std::unique_ptr<Store> store = OpenOrDie(TempStorePath("activate"));
  ASSERT_TRUE(store->PutBundleAndActivate(Info(1), Bundle(1), 10).ok());
  ASSERT_TRUE(store->PutBundleAndActivate(Info(2), Bundle(2), 20).ok());
  ASSERT_TRUE(store->Activate(1, 30, /*rollback=*/true).ok());
  Store::ActiveBundle active = **store->GetActive();
  EXPECT_EQ(active.version, 1u);
  EXPECT_EQ(active.activated_unix_micros, 30);
  EXPECT_TRUE(active.rollback);
  ASSERT_TRUE(store->Activate(2, 40, /*rollback=*/false).ok());
  active = **store->GetActive();
  EXPECT_EQ(active.version, 2u);
  EXPECT_FALSE(active.rollback);
}

TEST(StoreTest, ActivateMissingVersionIsNotFoundAndKeepsActive) {
  std::unique_ptr<Store> store = OpenOrDie(TempStorePath("activate_missing"));
  ASSERT_TRUE(store->PutBundleAndActivate(Info(5), Bundle(5), 10).ok());
  absl::Status s = store->Activate(6, 20, true);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(s.message().find("6"), absl::string_view::npos) << s;
  EXPECT_EQ((*store->GetActive())->version, 5u);
}

TEST(StoreTest, NegativeActivationTimeRoundTrips) {
  std::unique_ptr<Store> store = OpenOrDie(TempStorePath("negative_time"));
  ASSERT_TRUE(store->PutBundleAndActivate(Info(1), Bundle(1), -42).ok());
  EXPECT_EQ((*store->GetActive())->activated_unix_micros, -42);
}

TEST(StoreTest, ReopenKeepsBundlesActivePointerAndUsers) {
  const std::string path = TempStorePath("reopen");
  {
    std::unique_ptr<Store> store = OpenOrDie(path);
    ASSERT_TRUE(store->PutBundleAndActivate(Info(1), Bundle(1), 10).ok());
    ASSERT_TRUE(store->PutBundleAndActivate(Info(2), Bundle(2), 20).ok());
    ASSERT_TRUE(store->Activate(1, 30, true).ok());
    ASSERT_TRUE(store->UpsertUsers({MakeUser("alice", "admin"),
                                    MakeUser("bob", "dev")})
                    .ok());
    ASSERT_TRUE(store->DeleteUsers({"bob"}).ok());
  }
  std::unique_ptr<Store> store = OpenOrDie(path);
  absl::StatusOr<std::vector<v1::BundleInfo>> list = store->ListBundles();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 2u);
  EXPECT_EQ(store->GetBundle(2)->SerializeAsString(),
            Bundle(2).SerializeAsString());
  Store::ActiveBundle active = **store->GetActive();
  EXPECT_EQ(active.version, 1u);
  EXPECT_EQ(active.activated_unix_micros, 30);
  EXPECT_TRUE(active.rollback);
  absl::StatusOr<std::optional<v1::User>> alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->roles(0), "admin");
  EXPECT_EQ((*alice)->attributes().at("dept"), "eng");
  EXPECT_FALSE(store->GetUser("bob")->has_value());
}

TEST(StoreTest, CorruptValuesAreDataLossNamingTheKey) {
  const std::string path = TempStorePath("corrupt");
  {
    std::unique_ptr<Store> store = OpenOrDie(path);
    ASSERT_TRUE(store->PutBundleAndActivate(Info(9), Bundle(9), 10).ok());
  }
  // 0xff is an invalid wire type: no proto parses it.
  const std::string garbage = "\xff\xff\xff";
  WriteRaw(path, "bundles", VersionKey(9), garbage);
  WriteRaw(path, "bundle_info", VersionKey(10), garbage);
  WriteRaw(path, "users", "mallory", garbage);
  WriteRaw(path, "meta", "active", "short");

  std::unique_ptr<Store> store = OpenOrDie(path);
  absl::Status s = store->GetBundle(9).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("version 9"), absl::string_view::npos) << s;

  s = store->ListBundles().status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("version 10"), absl::string_view::npos) << s;

  s = store->GetUser("mallory").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("mallory"), absl::string_view::npos) << s;

  s = store->GetActive().status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("active"), absl::string_view::npos) << s;
}

TEST(StoreTest, UsersUpsertGetDelete) {
  std::unique_ptr<Store> store = OpenOrDie(TempStorePath("users"));
  ASSERT_TRUE(store->UpsertUsers({MakeUser("alice", "admin"),
                                  MakeUser("bob", "dev")})
                  .ok());
  EXPECT_EQ((*store->GetUser("bob"))->roles(0), "dev");
  ASSERT_TRUE(store->UpsertUsers({MakeUser("bob", "ops")}).ok());
  EXPECT_EQ((*store->GetUser("bob"))->roles(0), "ops");
  EXPECT_FALSE(store->GetUser("carol")->has_value());

  absl::StatusOr<int> deleted = store->DeleteUsers({"bob", "carol", "bob"});
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, 1);
  EXPECT_FALSE(store->GetUser("bob")->has_value());
  EXPECT_TRUE(store->GetUser("alice")->has_value());
  EXPECT_EQ(*store->DeleteUsers({}), 0);
}

TEST(StoreTest, UpsertWithEmptyIdWritesNothing) {
  std::unique_ptr<Store> store = OpenOrDie(TempStorePath("empty_id"));
  absl::Status s = store->UpsertUsers({MakeUser("dave", "dev"), MakeUser("", "x")});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(store->GetUser("dave")->has_value());
}

TEST(StoreTest, HundredThousandUsersAreAllFound) {
  const std::string path = TempStorePath("many_users");
  constexpr int kUsers = 100000;
  constexpr int kBatch = 5000;
  {
    std::unique_ptr<Store> store = OpenOrDie(path);
    for (int start = 0; start < kUsers; start += kBatch) {
      std::vector<v1::User> batch;
      for (int i = start; i < start + kBatch; ++i) {
        batch.push_back(MakeUser(absl::StrCat("user", i), absl::StrCat("role", i % 17)));
      }
      ASSERT_TRUE(store->UpsertUsers(batch).ok());
    }
    EXPECT_EQ(store->UserCount(), static_cast<uint64_t>(kUsers));
    // Deleting two and re-upserting one is counted exactly too.
    ASSERT_TRUE(store->DeleteUsers({"user7", "user8"}).ok());
    EXPECT_EQ(store->UserCount(), static_cast<uint64_t>(kUsers - 2));
    ASSERT_TRUE(store->UpsertUsers({MakeUser("user7", "role7")}).ok());
    ASSERT_TRUE(store->UpsertUsers({MakeUser("user8", "role8")}).ok());
  }
  std::unique_ptr<Store> store = OpenOrDie(path);  // Read back from disk.
  EXPECT_EQ(store->UserCount(), static_cast<uint64_t>(kUsers));
  for (int i = 0; i < kUsers; ++i) {
    absl::StatusOr<std::optional<v1::User>> user =
        store->GetUser(absl::StrCat("user", i));
    ASSERT_TRUE(user.ok() && user->has_value()) << i;
    ASSERT_EQ((*user)->id(), absl::StrCat("user", i));
    ASSERT_EQ((*user)->roles(0),
              absl::StrCat("role", i == 7 || i == 8 ? i : i % 17));
  }
  EXPECT_FALSE(store->GetUser(absl::StrCat("user", kUsers))->has_value());
}

TEST(StoreTest, DeleteLeavesATombstoneUntilTheNextUpsert) {
  std::unique_ptr<Store> store = OpenOrDie(TempStorePath("tombstones"));
  ASSERT_TRUE(store->UpsertUsers({MakeUser("bob", "dev")}).ok());
  absl::StatusOr<Store::UserEntry> bob = store->LookupUser("bob");
  ASSERT_TRUE(bob.ok()) << bob.status();
  EXPECT_TRUE(bob->user.has_value());
  EXPECT_FALSE(bob->deleted);

  // bob held a user; ghost never did: both are tombstones now (the
  // directory revokes ids it never held too), and only bob counts.
  absl::StatusOr<int> deleted = store->DeleteUsers({"bob", "ghost", "bob"});
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, 1);
  for (const char* id : {"bob", "ghost"}) {
    absl::StatusOr<Store::UserEntry> entry = store->LookupUser(id);
    ASSERT_TRUE(entry.ok()) << entry.status();
    EXPECT_FALSE(entry->user.has_value()) << id;
    EXPECT_TRUE(entry->deleted) << id;
    EXPECT_FALSE(store->GetUser(id)->has_value()) << id;
  }
  absl::StatusOr<Store::UserEntry> never = store->LookupUser("never");
  ASSERT_TRUE(never.ok());
  EXPECT_FALSE(never->deleted);
  EXPECT_FALSE(never->user.has_value());
  // Deleting a tombstone again counts nothing.
  EXPECT_EQ(*store->DeleteUsers({"bob"}), 0);
  EXPECT_EQ(store->UserCount(), 0u);

  // An upsert removes the tombstone.
  ASSERT_TRUE(store->UpsertUsers({MakeUser("bob", "ops")}).ok());
  bob = store->LookupUser("bob");
  ASSERT_TRUE(bob.ok());
  EXPECT_FALSE(bob->deleted);
  ASSERT_TRUE(bob->user.has_value());
  EXPECT_EQ(bob->user->roles(0), "ops");
  EXPECT_EQ(store->UserCount(), 1u);
}

TEST(StoreTest, UserCountIsExactAndSurvivesReopen) {
  const std::string path = TempStorePath("user_count");
  {
    std::unique_ptr<Store> store = OpenOrDie(path);
    EXPECT_EQ(store->UserCount(), 0u);
    // Duplicates in a batch count once; replacing a user adds nothing.
    ASSERT_TRUE(store->UpsertUsers({MakeUser("a", "r"), MakeUser("b", "r"),
                                    MakeUser("a", "s")})
                    .ok());
    EXPECT_EQ(store->UserCount(), 2u);
    ASSERT_TRUE(store->UpsertUsers({MakeUser("b", "t"), MakeUser("c", "r")})
                    .ok());
    EXPECT_EQ(store->UserCount(), 3u);
    ASSERT_TRUE(store->DeleteUsers({"a", "zzz"}).ok());
    EXPECT_EQ(store->UserCount(), 2u);
    // A refused batch changes nothing.
    EXPECT_FALSE(store->UpsertUsers({MakeUser("d", "r"), MakeUser("", "r")}).ok());
    EXPECT_EQ(store->UserCount(), 2u);
  }
  EXPECT_EQ(OpenOrDie(path)->UserCount(), 2u);

  // A store written before the count existed is counted once when opened.
  WriteRaw(path, "meta", "user_count", std::nullopt);
  EXPECT_EQ(OpenOrDie(path)->UserCount(), 2u);
  // A malformed count is DataLoss.
  WriteRaw(path, "meta", "user_count", std::string("xyz"));
  absl::StatusOr<std::unique_ptr<Store>> bad = Store::Open({path, true});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace pdp::cache
