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

TokenCache::TokenCache(size_t capacity, size_t max_bytes, HashFunction hash)
    : hash_(hash != nullptr ? hash : &DefaultHash),
      shard_count_(max_bytes == 0 ? 0 : std::min(capacity, kMaxShards)) {
  if (shard_count_ == 0) return;
  shards_.reset(new Shard[shard_count_]);
  for (size_t i = 0; i < shard_count_; ++i) {
    shards_[i].capacity =
        capacity / shard_count_ + (i < capacity % shard_count_ ? 1 : 0);
    shards_[i].max_bytes = max_bytes / shard_count_;
  }
}

size_t TokenCache::AllocationBytes(size_t n) {
  return std::max<size_t>(32, (n + 8 + 15) & ~size_t{15});
}

size_t TokenCache::StringBytes(const std::string& s) {
  return s.capacity() > 15 ? AllocationBytes(s.capacity() + 1) : 0;
}

size_t TokenCache::EntryBytes(absl::string_view token, size_t claims_bytes) {
  // A flat_hash_map keeps between 7/16 and 7/8 of its slots full: two slots
  // (and their control bytes) per entry; one deque element.
  constexpr size_t kSlot = sizeof(std::pair<const uint64_t, Entry>) + 1;
  return 2 * kSlot + sizeof(uint64_t) +
         (token.size() > 15 ? AllocationBytes(token.size() + 1) : 0) +
         claims_bytes;
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
                        std::shared_ptr<const VerifiedToken> claims,
                        size_t claims_bytes) {
  if (shard_count_ == 0) return;
  const uint64_t hash = hash_(token);
  Shard& shard = ShardFor(hash);
  const size_t bytes = EntryBytes(token, claims_bytes);
  if (bytes > shard.max_bytes) return;
  Entry entry{std::string(token), std::move(claims), bytes};
  absl::MutexLock lock(&shard.mu);
  auto it = shard.entries.find(hash);
  if (it != shard.entries.end()) {
    shard.bytes -= it->second.bytes;
    shard.entries.erase(it);  // Its hash stays queued; popped later.
  }
  while (!shard.order.empty() &&
         (shard.order.size() >= shard.capacity ||
          shard.bytes + bytes > shard.max_bytes)) {
    auto oldest = shard.entries.find(shard.order.front());
    if (oldest != shard.entries.end()) {
      shard.bytes -= oldest->second.bytes;
      shard.entries.erase(oldest);
    }
    shard.order.pop_front();
  }
  shard.entries.emplace(hash, std::move(entry));
  shard.bytes += bytes;
  shard.order.push_back(hash);
}

void TokenCache::Erase(absl::string_view token) {
  if (shard_count_ == 0) return;
  const uint64_t hash = hash_(token);
  Shard& shard = ShardFor(hash);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.entries.find(hash);
  if (it != shard.entries.end() && it->second.token == token) {
    shard.bytes -= it->second.bytes;
    shard.entries.erase(it);
  }
}

size_t TokenCache::bytes() const {
  size_t total = 0;
  for (size_t i = 0; i < shard_count_; ++i) {
    absl::MutexLock lock(&shards_[i].mu);
    total += shards_[i].bytes;
  }
  return total;
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
