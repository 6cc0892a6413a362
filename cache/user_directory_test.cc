#include "cache/user_directory.h"

#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"

namespace pdp::cache {
namespace {

class UserDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    const std::string path =
        absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/",
                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    path_ = path;
    Reopen();
  }

  void Reopen() {
    store_.reset();
    absl::StatusOr<std::unique_ptr<Store>> store =
        Store::Open({path_, /*sync_writes=*/false});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  // Writes `value` under users/`id`, bypassing the Store (closed meanwhile).
  void WriteRawUser(const std::string& id, const std::string& value) {
    store_.reset();
    std::vector<std::string> names;
    ASSERT_TRUE(
        rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path_, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const std::string& name : names) {
      descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), path_, descriptors,
                                  &handles, &db)
                    .ok());
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == "users") {
        EXPECT_TRUE(db->Put(rocksdb::WriteOptions(), handles[i], id, value).ok());
      }
    }
    for (rocksdb::ColumnFamilyHandle* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
    Reopen();
  }

  static v1::User MakeUser(absl::string_view id, absl::string_view role) {
    v1::User user;
    user.set_id(std::string(id));
    user.add_roles(std::string(role));
    return user;
  }

  std::string path_;
  std::unique_ptr<Store> store_;
};

TEST_F(UserDirectoryTest, CachedHitIsTheSameObjectAndSurvivesBypassingWrites) {
  ASSERT_TRUE(store_->UpsertUsers({MakeUser("alice", "admin")}).ok());
  UserDirectory directory(*store_);
  std::shared_ptr<const v1::User> first = directory.Find("alice");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->roles(0), "admin");
  // A write that bypasses the directory is not seen: the hit is cached.
  ASSERT_TRUE(store_->DeleteUsers({"alice"}).ok());
  std::shared_ptr<const v1::User> second = directory.Find("alice");
  EXPECT_EQ(second.get(), first.get());
}

TEST_F(UserDirectoryTest, MissThenUpsertThenHit) {
  UserDirectory directory(*store_);
  EXPECT_EQ(directory.Find("bob"), nullptr);
  // A miss is not cached: even a bypassing write is seen...
  ASSERT_TRUE(store_->UpsertUsers({MakeUser("bob", "ops")}).ok());
  ASSERT_NE(directory.Find("bob"), nullptr);
  EXPECT_EQ(directory.Find("bob")->roles(0), "ops");
  // ...and a write through the directory is, at once.
  ASSERT_TRUE(directory.Upsert({MakeUser("bob", "dev")}).ok());
  std::shared_ptr<const v1::User> bob = directory.Find("bob");
  ASSERT_NE(bob, nullptr);
  EXPECT_EQ(bob->roles(0), "dev");
}

TEST_F(UserDirectoryTest, UpsertReplacesACachedUser) {
  UserDirectory directory(*store_);
  ASSERT_TRUE(directory.Upsert({MakeUser("carol", "dev")}).ok());
  ASSERT_EQ(directory.Find("carol")->roles(0), "dev");
  ASSERT_TRUE(directory.Upsert({MakeUser("carol", "admin")}).ok());
  EXPECT_EQ(directory.Find("carol")->roles(0), "admin");
}

TEST_F(UserDirectoryTest, DeleteThenUnknownImmediately) {
  UserDirectory directory(*store_);
  ASSERT_TRUE(directory.Upsert({MakeUser("dave", "dev"), MakeUser("erin", "dev")}).ok());
  ASSERT_NE(directory.Find("dave"), nullptr);  // Cached.
  absl::StatusOr<int> deleted = directory.Delete({"dave", "nobody"});
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 1);
  EXPECT_EQ(directory.Find("dave"), nullptr);
  EXPECT_NE(directory.Find("erin"), nullptr);
}

TEST_F(UserDirectoryTest, FailedUpsertLeavesNothingBehind) {
  UserDirectory directory(*store_);
  EXPECT_EQ(directory.Find("frank"), nullptr);
  EXPECT_EQ(directory.Upsert({MakeUser("frank", "dev"), MakeUser("", "x")}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(directory.Find("frank"), nullptr);
}

TEST_F(UserDirectoryTest, TinyCapacityStillAnswersCorrectly) {
  UserDirectory directory(*store_, {/*capacity=*/4, /*shards=*/2});
  std::vector<v1::User> users;
  for (int i = 0; i < 100; ++i) users.push_back(MakeUser(absl::StrCat("u", i), "r"));
  ASSERT_TRUE(directory.Upsert(users).ok());
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 120; ++i) {
      std::shared_ptr<const v1::User> user = directory.Find(absl::StrCat("u", i));
      if (i < 100) {
        ASSERT_NE(user, nullptr) << i;
        EXPECT_EQ(user->id(), absl::StrCat("u", i));
      } else {
        EXPECT_EQ(user, nullptr) << i;
      }
    }
  }
}

// Writers flip users between two roles through the directory while readers
// look them up. Every read sees a role the user really had, and once the
// writers are done every read sees the last write.
TEST_F(UserDirectoryTest, ConcurrentFindsDuringUpserts) {
  constexpr int kUsers = 200;
  constexpr int kWriters = 3;
  constexpr int kReaders = 4;
  constexpr int kRounds = 60;
  UserDirectory directory(*store_, {/*capacity=*/1000, /*shards=*/8});
  std::atomic<bool> done{false};
  std::atomic<int> bad_reads{0};

  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&, r] {
      int i = r;
      while (!done.load(std::memory_order_relaxed)) {
        std::shared_ptr<const v1::User> user =
            directory.Find(absl::StrCat("user", i % kUsers));
        if (user != nullptr && user->roles(0) != "even" && user->roles(0) != "odd") {
          bad_reads.fetch_add(1);
        }
        i += 7;
      }
    });
  }
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      // Writer w owns users with id % kWriters == w.
      for (int round = 0; round < kRounds; ++round) {
        std::vector<v1::User> batch;
        for (int u = w; u < kUsers; u += kWriters) {
          batch.push_back(MakeUser(absl::StrCat("user", u), round % 2 ? "odd" : "even"));
        }
        ASSERT_TRUE(directory.Upsert(batch).ok());
      }
    });
  }
  for (std::thread& t : writers) t.join();
  done = true;
  for (std::thread& t : readers) t.join();

  EXPECT_EQ(bad_reads.load(), 0);
  const std::string last = (kRounds - 1) % 2 ? "odd" : "even";
  for (int u = 0; u < kUsers; ++u) {
    std::shared_ptr<const v1::User> user = directory.Find(absl::StrCat("user", u));
    ASSERT_NE(user, nullptr) << u;
    EXPECT_EQ(user->roles(0), last) << u;
  }
}

TEST_F(UserDirectoryTest, DeleteLeavesATombstoneThatLookupReportsUntilUpsert) {
  UserDirectory directory(*store_);
  ASSERT_TRUE(directory.Upsert({MakeUser("bob", "sales")}).ok());
  ASSERT_NE(directory.Lookup("bob").user, nullptr);  // Cached.
  absl::StatusOr<int> deleted = directory.Delete({"bob", "never-there"});
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, 1);
  for (int i = 0; i < 2; ++i) {  // From the Store, then from the cache.
    UserDirectory::Entry bob = directory.Lookup("bob");
    EXPECT_EQ(bob.user, nullptr);
    EXPECT_TRUE(bob.deleted);
    EXPECT_TRUE(directory.Lookup("never-there").deleted);
  }
  EXPECT_EQ(directory.CachedEntries(), 2u);  // Tombstones are cached.
  UserDirectory::Entry unknown = directory.Lookup("someone-else");
  EXPECT_EQ(unknown.user, nullptr);
  EXPECT_FALSE(unknown.deleted);

  // A new directory over the same store (a restart) sees the tombstone.
  UserDirectory restarted(*store_);
  EXPECT_TRUE(restarted.Lookup("bob").deleted);

  ASSERT_TRUE(directory.Upsert({MakeUser("bob", "ops")}).ok());
  UserDirectory::Entry back = directory.Lookup("bob");
  EXPECT_FALSE(back.deleted);
  ASSERT_NE(back.user, nullptr);
  EXPECT_EQ(back.user->roles(0), "ops");
}

// A stored value that does not parse: TryLookup says DataLoss (GetUser
// reports it), Lookup fails closed as deleted (USER_UNKNOWN, never the
// policy's user of that id), and nothing is cached.
TEST_F(UserDirectoryTest, UnreadableUserFailsClosed) {
  WriteRawUser("mallory", "\xff\xff\xff");
  UserDirectory directory(*store_);
  absl::StatusOr<UserDirectory::Entry> tried = directory.TryLookup("mallory");
  EXPECT_EQ(tried.status().code(), absl::StatusCode::kDataLoss);
  UserDirectory::Entry entry = directory.Lookup("mallory");
  EXPECT_EQ(entry.user, nullptr);
  EXPECT_TRUE(entry.deleted);
  EXPECT_EQ(directory.CachedEntries(), 0u);
}

// Callers choose the ids they look up: 300 distinct unknown ids of 1 MiB
// each must cost the cache nothing.
TEST_F(UserDirectoryTest, UnknownIdsAreNeverCached) {
  UserDirectory directory(*store_);
  for (int i = 0; i < 300; ++i) {
    std::string id(size_t{1} << 20, 'x');
    id.replace(0, 8, absl::StrCat(i + 10000000));
    UserDirectory::Entry entry = directory.Lookup(id);
    ASSERT_EQ(entry.user, nullptr);
    ASSERT_FALSE(entry.deleted);
  }
  EXPECT_EQ(directory.CachedEntries(), 0u);
  EXPECT_EQ(directory.CachedBytes(), 0u);
}

TEST_F(UserDirectoryTest, CachedBytesStayWithinTheBudget) {
  UserDirectoryOptions options;
  options.max_bytes = 1 << 20;
  options.shards = 4;
  UserDirectory directory(*store_, options);
  std::vector<v1::User> users;
  for (int i = 0; i < 300; ++i) {
    v1::User user = MakeUser(absl::StrCat("big-", i), "r");
    (*user.mutable_attributes())["blob"] = std::string(20000, 'b');
    users.push_back(std::move(user));
  }
  // One user larger than a shard's share (256 KiB): never cached.
  v1::User huge = MakeUser("huge", "r");
  (*huge.mutable_attributes())["blob"] = std::string(300000, 'h');
  users.push_back(huge);
  ASSERT_TRUE(directory.Upsert(users).ok());
  for (int round = 0; round < 2; ++round) {
    for (const v1::User& user : users) {
      std::shared_ptr<const v1::User> found = directory.Find(user.id());
      ASSERT_NE(found, nullptr) << user.id();
      ASSERT_EQ(found->attributes().at("blob").size(),
                user.attributes().at("blob").size());
      ASSERT_LE(directory.CachedBytes(), options.max_bytes);
    }
  }
  EXPECT_GT(directory.CachedBytes(), options.max_bytes / 4);
  // Tombstones count against the budget too.
  std::vector<std::string> ids;
  for (int i = 0; i < 5000; ++i) ids.push_back(absl::StrCat("gone-", i, std::string(100, 'g')));
  ASSERT_TRUE(directory.Delete(ids).ok());
  for (const std::string& id : ids) {
    ASSERT_TRUE(directory.Lookup(id).deleted);
    ASSERT_LE(directory.CachedBytes(), options.max_bytes);
  }
}

size_t HeapInUse() {
  struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

// The accounted bytes are what the entries really take on the heap: fill a
// directory with typical users, then measure what destroying it frees.
// The per-entry cost printed here is the one docs/operations.md gives.
TEST_F(UserDirectoryTest, AccountedBytesMatchTheHeap) {
  constexpr int kUsers = 20000;
  std::vector<v1::User> users;
  for (int i = 0; i < kUsers; ++i) {
    v1::User user = MakeUser(absl::StrCat("user-", 100000 + i, "@bulk.example"),
                             i % 2 ? "sales" : "executive");
    (*user.mutable_attributes())["department"] = "emea-sales";
    users.push_back(std::move(user));
  }
  ASSERT_TRUE(store_->UpsertUsers(users).ok());
  users.clear();
  users.shrink_to_fit();

  auto directory = std::make_unique<UserDirectory>(*store_);
  for (int i = 0; i < kUsers; ++i) {
    ASSERT_NE(directory->Find(absl::StrCat("user-", 100000 + i, "@bulk.example")),
              nullptr);
  }
  ASSERT_EQ(directory->CachedEntries(), static_cast<size_t>(kUsers));
  const size_t accounted = directory->CachedBytes();
  const size_t before = HeapInUse();
  directory.reset();
  const size_t after = HeapInUse();
  ASSERT_GT(before, after);
  const double measured = static_cast<double>(before - after);
  std::cerr << "directory cache: " << accounted / kUsers
            << " bytes accounted per entry, " << measured / kUsers
            << " measured\n";
  EXPECT_GT(accounted, measured * 0.75);
  EXPECT_LT(accounted, measured * 1.6);
}

}  // namespace
}  // namespace pdp::cache
