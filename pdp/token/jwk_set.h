#ifndef PDP_TOKEN_JWK_SET_H_
#define PDP_TOKEN_JWK_SET_H_

// A set of public signing keys of one token issuer, from a JSON Web Key Set
// (RFC 7517 §5: {"keys": [...]}), by key id.
//
// Accepted keys (public only):
//   - kty "RSA": n and e, a modulus of 2048 to 16384 bits, an odd exponent of
//     at most 64 bits; alg "RS256" (the default) or "PS256".
//   - kty "EC", crv "P-256": x and y of 32 bytes each, a point on the curve;
//     alg "ES256" (the default).
//   - kty "OKP", crv "Ed25519": x of 32 bytes; alg "EdDSA" (the default).
// Each key's algorithm is fixed here, from the key: a token is verified only
// with its key's algorithm, whatever the token's header claims.
//
// Immutable once parsed; thread-safe; cheap to copy (keys are shared).

#include <openssl/evp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "pdp/token/jws_algorithm.h"

namespace pdp {
namespace token {

class JwkSet {
 public:
  struct Key {
    std::string kid;
    JwsAlgorithm alg;
    // The public key; never null in a parsed set. Only read (verification),
    // so it may be used from any thread.
    std::shared_ptr<EVP_PKEY> key;
  };

  // An empty set.
  JwkSet() = default;

  // Parses a JWK Set. Keys with "use": "enc" are skipped. Returns
  // InvalidArgument for text that is not a JSON object with a "keys" array,
  // and, naming the key ("key 2 (kid 'k2'): ..."), for a key that is not an
  // object, a missing, empty or duplicate "kid", symmetric keys (kty "oct"),
  // private members ("d", "p", "q", "dp", "dq", "qi", "k"), an unknown kty or
  // crv, an "alg" that does not fit the kty, a "use" other than "sig" or
  // "enc", missing or malformed (non-base64url) members, an RSA modulus
  // under 2048 bits, or an EC point that is not on P-256. Messages never
  // contain key material.
  static absl::StatusOr<JwkSet> Parse(absl::string_view json);

  // The key with this id, or nullptr. The pointer lives as long as this set
  // (or a copy of it).
  const Key* Find(absl::string_view kid) const;

  // How many (signing) keys the set holds.
  size_t size() const { return keys_ != nullptr ? keys_->list.size() : 0; }

  // Every key, in the order of the set.
  const std::vector<Key>& keys() const;

 private:
  struct Keys {
    std::vector<Key> list;
    absl::flat_hash_map<std::string, size_t> by_kid;
  };
  explicit JwkSet(std::shared_ptr<const Keys> keys) : keys_(std::move(keys)) {}

  // Null for an empty set. Shared, so copies share the (immutable) keys and
  // Find() pointers stay valid across copies.
  std::shared_ptr<const Keys> keys_;
};

}  // namespace token
}  // namespace pdp

#endif  // PDP_TOKEN_JWK_SET_H_
