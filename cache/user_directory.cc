#include "cache/user_directory.h"

#include <algorithm>
#include <functional>
#include <string_view>
#include <utility>

namespace pdp::cache {
namespace {

// What malloc hands out for a request of `n` bytes (glibc: 8 bytes of
// header, 16-byte granules, 32 bytes at least).
size_t MallocBytes(size_t n) {
  return std::max<size_t>(32, (n + 8 + 15) & ~size_t{15});
}

}  // namespace

UserDirectory::UserDirectory(Store& store, UserDirectoryOptions options)
    : store_(store),
      shard_capacity_(std::max<size_t>(
          1, options.capacity /
                 static_cast<size_t>(std::max(1, options.shards)))),
      shard_max_bytes_(options.max_bytes /
                       static_cast<size_t>(std::max(1, options.shards))),
      shards_(new Shard[std::max(1, options.shards)]),
      num_shards_(static_cast<size_t>(std::max(1, options.shards))) {}

size_t UserDirectory::EntryBytes(absl::string_view id, const v1::User* user) {
  // A flat_hash_map keeps between 7/16 and 7/8 of its slots full: count two
  // slots (and their control bytes) per entry.
  size_t bytes = 2 * (sizeof(Map::value_type) + 1);
  // The key's heap buffer, beyond the short-string buffer.
  if (id.size() > 15) bytes += MallocBytes(id.size() + 1);
  if (user != nullptr) {
    // make_shared: one allocation for the control block (16 bytes) and the
    // User, plus what the User's fields hold (SpaceUsedLong counts
    // sizeof(User) too).
    bytes += MallocBytes(16 + sizeof(v1::User)) - sizeof(v1::User) +
             user->SpaceUsedLong();
  }
  return bytes;
}

UserDirectory::Shard& UserDirectory::ShardFor(absl::string_view id) const {
  // A different hash from the maps' own (absl::Hash), so every shard's map
  // still sees well-spread hashes.
  const size_t h = std::hash<std::string_view>()(
      std::string_view(id.data(), id.size()));
  return shards_[h % num_shards_];
}

absl::StatusOr<UserDirectory::Entry> UserDirectory::TryLookup(
    absl::string_view id) const {
  Shard& shard = ShardFor(id);
  uint64_t generation;
  {
    absl::ReaderMutexLock lock(&shard.mu);
    auto it = shard.entries.find(id);
    if (it != shard.entries.end()) {
      return Entry{it->second.user, it->second.deleted};
    }
    generation = shard.generation;
  }
  absl::StatusOr<Store::UserEntry> stored = store_.LookupUser(id);
  if (!stored.ok()) return stored.status();
  Entry entry;
  entry.deleted = stored->deleted;
  if (stored->user.has_value()) {
    entry.user = std::make_shared<const v1::User>(*std::move(stored->user));
  }
  if (entry.user == nullptr && !entry.deleted) return entry;  // Unknown.
  const size_t bytes = EntryBytes(id, entry.user.get());
  if (bytes > shard_max_bytes_) return entry;
  absl::MutexLock lock(&shard.mu);
  if (shard.generation == generation) {
    if (shard.entries.size() >= shard_capacity_ ||
        shard.bytes + bytes > shard_max_bytes_) {
      shard.entries.clear();
      shard.bytes = 0;
    }
    if (shard.entries
            .emplace(std::string(id), Cached{entry.user, entry.deleted, bytes})
            .second) {
      shard.bytes += bytes;
    }
  }
  return entry;
}

void UserDirectory::Invalidate(absl::string_view id) {
  Shard& shard = ShardFor(id);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.entries.find(id);
  if (it != shard.entries.end()) {
    shard.bytes -= it->second.bytes;
    shard.entries.erase(it);
  }
  ++shard.generation;
}

absl::Status UserDirectory::Upsert(const std::vector<v1::User>& users) {
  absl::Status s = store_.UpsertUsers(users);
  // Invalidate even on failure: the cache must never be newer or older than
  // what a fresh read would see.
  for (const v1::User& user : users) Invalidate(user.id());
  return s;
}

absl::StatusOr<int> UserDirectory::Delete(const std::vector<std::string>& ids) {
  absl::StatusOr<int> deleted = store_.DeleteUsers(ids);
  for (const std::string& id : ids) Invalidate(id);
  return deleted;
}

size_t UserDirectory::CachedBytes() const {
  size_t total = 0;
  for (size_t i = 0; i < num_shards_; ++i) {
    absl::ReaderMutexLock lock(&shards_[i].mu);
    total += shards_[i].bytes;
  }
  return total;
}

size_t UserDirectory::CachedEntries() const {
  size_t total = 0;
  for (size_t i = 0; i < num_shards_; ++i) {
    absl::ReaderMutexLock lock(&shards_[i].mu);
    total += shards_[i].entries.size();
  }
  return total;
}

}  // namespace pdp::cache
