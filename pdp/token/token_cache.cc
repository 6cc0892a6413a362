#include "pdp/token/token_cache.h"

#include <algorithm>
#include <utility>

#include "absl/hash/hash.h"

namespace pdp {
namespace token {
namespace internal {
namespace {

constexpr size_t kMaxShards = 16;

}  // namespace

TokenCache::TokenCache(size_t capacity, HashFunction hash)
    : hash_(hash != nullptr ? hash : &DefaultHash),
      shard_count_(std::min(capacity, kMaxShards)) {
  if (shard_count_ == 0) return;
  shards_.reset(new Shard[shard_count_]);
  for (size_t i = 0; i < shard_count_; ++i) {
    shards_[i].capacity =
        capacity / shard_count_ + (i < capacity % shard_count_ ? 1 : 0);
  }
}

uint64_t TokenCache::DefaultHash(absl::string_view token) {
  return absl::Hash<absl::string_view>()(token);
}

TokenCache::Shard& TokenCache::ShardFor(uint64_t hash) const {
  // The high bits pick the shard; the map uses the hash as a whole.
  return shards_[(hash >> 48) % shard_count_];
}

std::shared_ptr<const VerifiedToken> TokenCache::Find(
    absl::string_view token) const {
  if (shard_count_ == 0) return nullptr;
  const uint64_t hash = hash_(token);
  Shard& shard = ShardFor(hash);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.entries.find(hash);
  if (it == shard.entries.end() || it->second.token != token) return nullptr;
  return it->second.claims;
}

void TokenCache::Insert(absl::string_view token,
                        std::shared_ptr<const VerifiedToken> claims) {
  if (shard_count_ == 0) return;
  const uint64_t hash = hash_(token);
  Shard& shard = ShardFor(hash);
  Entry entry{std::string(token), std::move(claims)};
  absl::MutexLock lock(&shard.mu);
  auto it = shard.entries.find(hash);
  if (it != shard.entries.end()) {
    it->second = std::move(entry);
    return;
  }
  while (shard.order.size() >= shard.capacity) {
    shard.entries.erase(shard.order.front());
    shard.order.pop_front();
  }
  shard.entries.emplace(hash, std::move(entry));
  shard.order.push_back(hash);
}

void TokenCache::Erase(absl::string_view token) {
  if (shard_count_ == 0) return;
  const uint64_t hash = hash_(token);
  Shard& shard = ShardFor(hash);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.entries.find(hash);
  if (it != shard.entries.end() && it->second.token == token) {
    shard.entries.erase(it);
  }
}

size_t TokenCache::size() const {
  size_t total = 0;
  for (size_t i = 0; i < shard_count_; ++i) {
    absl::MutexLock lock(&shards_[i].mu);
    total += shards_[i].entries.size();
  }
  return total;
}

}  // namespace internal
}  // namespace token
}  // namespace pdp
