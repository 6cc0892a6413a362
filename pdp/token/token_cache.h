#ifndef PDP_TOKEN_TOKEN_CACHE_H_
#define PDP_TOKEN_TOKEN_CACHE_H_

// A bounded map from token text to its verified claims. Internal to
// pdp/token (TokenVerifier's cache).
//
// Entries are found by a 64-bit hash of the token and confirmed by comparing
// the whole token, so a hash collision is only a miss. It is split into
// shards, each with its own lock, capacity and share of the byte budget; a
// full shard forgets its oldest insertions (FIFO) until the new entry fits.
// An entry costs EntryBytes(): the token's bytes, the claims' bytes as the
// caller accounts them, and the map's and queue's overhead; an entry larger
// than a shard's share of the budget is not stored.
//
// Thread-safe.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace pdp {
namespace token {

struct VerifiedToken;

namespace internal {

class TokenCache {
 public:
  using HashFunction = uint64_t (*)(absl::string_view token);

  // The byte budget of the constructor without one.
  static constexpr size_t kDefaultMaxBytes = size_t{32} << 20;

  // Holds at most `capacity` entries and `max_bytes` bytes (EntryBytes) in
  // total; 0 holds none. `hash` replaces the default (absl::Hash) in tests,
  // e.g. to force collisions.
  TokenCache(size_t capacity, size_t max_bytes, HashFunction hash = nullptr);
  explicit TokenCache(size_t capacity, HashFunction hash = nullptr)
      : TokenCache(capacity, kDefaultMaxBytes, hash) {}

  TokenCache(const TokenCache&) = delete;
  TokenCache& operator=(const TokenCache&) = delete;

  // The claims stored for exactly `token`, or null.
  std::shared_ptr<const VerifiedToken> Find(absl::string_view token) const;

  // Stores `claims` for `token`, replacing an entry with the same hash.
  // `claims_bytes` is what the claims take on the heap (AllocationBytes of
  // their make_shared block plus StringBytes of their strings and vectors).
  void Insert(absl::string_view token,
              std::shared_ptr<const VerifiedToken> claims,
              size_t claims_bytes = 0);

  // Forgets `token` if it is stored.
  void Erase(absl::string_view token);

  // How many entries are stored (for tests).
  size_t size() const;
  // The bytes the stored entries take (EntryBytes); at most max_bytes.
  size_t bytes() const;

  // What storing `token` with claims of `claims_bytes` costs.
  static size_t EntryBytes(absl::string_view token, size_t claims_bytes);
  // What malloc hands out for a request of `n` bytes (glibc: an 8-byte
  // header, 16-byte granules, at least 32).
  static size_t AllocationBytes(size_t n);
  // The heap bytes of `s` beyond its inline buffer.
  static size_t StringBytes(const std::string& s);

 private:
  struct Entry {
    std::string token;
    std::shared_ptr<const VerifiedToken> claims;
    size_t bytes = 0;  // EntryBytes().
  };
  struct Shard {
    mutable absl::Mutex mu;
    size_t capacity = 0;
    size_t max_bytes = 0;
    size_t bytes ABSL_GUARDED_BY(mu) = 0;
    absl::flat_hash_map<uint64_t, Entry> entries ABSL_GUARDED_BY(mu);
    // Hashes in insertion order; may name entries already erased. Never
    // longer than capacity.
    std::deque<uint64_t> order ABSL_GUARDED_BY(mu);
  };

  static uint64_t DefaultHash(absl::string_view token);
  Shard& ShardFor(uint64_t hash) const;

  const HashFunction hash_;
  // Empty when capacity is 0.
  std::unique_ptr<Shard[]> shards_;
  size_t shard_count_ = 0;
};

}  // namespace internal
}  // namespace token
}  // namespace pdp

#endif  // PDP_TOKEN_TOKEN_CACHE_H_
