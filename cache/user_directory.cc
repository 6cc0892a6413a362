#include "cache/user_directory.h"

#include <algorithm>
#include <functional>
#include <string_view>
#include <utility>

namespace pdp::cache {

UserDirectory::UserDirectory(Store& store, UserDirectoryOptions options)
    : store_(store),
      shard_capacity_(std::max<size_t>(
          1, options.capacity / static_cast<size_t>(std::max(1, options.shards)))),
      shards_(new Shard[std::max(1, options.shards)]),
      num_shards_(static_cast<size_t>(std::max(1, options.shards))) {}

UserDirectory::Shard& UserDirectory::ShardFor(absl::string_view id) const {
  // A different hash from the maps' own (absl::Hash), so every shard's map
  // still sees well-spread hashes.
  const size_t h = std::hash<std::string_view>()(
      std::string_view(id.data(), id.size()));
  return shards_[h % num_shards_];
}

std::shared_ptr<const v1::User> UserDirectory::Find(
    absl::string_view id) const {
  Shard& shard = ShardFor(id);
  uint64_t generation;
  {
    absl::ReaderMutexLock lock(&shard.mu);
    auto it = shard.entries.find(id);
    if (it != shard.entries.end()) return it->second;
    generation = shard.generation;
  }
  absl::StatusOr<std::optional<v1::User>> stored = store_.GetUser(id);
  if (!stored.ok()) return nullptr;
  std::shared_ptr<const v1::User> user;
  if (stored->has_value()) {
    user = std::make_shared<const v1::User>(*std::move(*stored));
  }
  absl::MutexLock lock(&shard.mu);
  if (shard.generation == generation) {
    if (shard.entries.size() >= shard_capacity_) shard.entries.clear();
    shard.entries.emplace(std::string(id), user);
  }
  return user;
}

void UserDirectory::Invalidate(absl::string_view id) {
  Shard& shard = ShardFor(id);
  absl::MutexLock lock(&shard.mu);
  shard.entries.erase(id);
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

}  // namespace pdp::cache
