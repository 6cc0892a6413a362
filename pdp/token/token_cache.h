#ifndef PDP_TOKEN_TOKEN_CACHE_H_
#define PDP_TOKEN_TOKEN_CACHE_H_

// A bounded map from token text to its verified claims. Internal to
// pdp/token (TokenVerifier's cache).
//
// Entries are found by a 64-bit hash of the token and confirmed by comparing
// the whole token, so a hash collision is only a miss. It is split into
// shards, each with its own lock and capacity; a full shard forgets its
// oldest insertion (FIFO), O(1).
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

  // Holds at most `capacity` entries in total; 0 holds none. `hash` replaces
  // the default (absl::Hash) in tests, e.g. to force collisions.
  explicit TokenCache(size_t capacity, HashFunction hash = nullptr);

  TokenCache(const TokenCache&) = delete;
  TokenCache& operator=(const TokenCache&) = delete;

  // The claims stored for exactly `token`, or null.
  std::shared_ptr<const VerifiedToken> Find(absl::string_view token) const;

  // Stores `claims` for `token`, replacing an entry with the same hash.
  void Insert(absl::string_view token,
              std::shared_ptr<const VerifiedToken> claims);

  // Forgets `token` if it is stored.
  void Erase(absl::string_view token);

  // How many entries are stored (for tests).
  size_t size() const;

 private:
  struct Entry {
    std::string token;
    std::shared_ptr<const VerifiedToken> claims;
  };
  struct Shard {
    mutable absl::Mutex mu;
    size_t capacity = 0;
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
