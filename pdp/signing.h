#ifndef PDP_SIGNING_H_
#define PDP_SIGNING_H_

// Ed25519 signing of policy bundles (DESIGN.md §5), with OpenSSL 3's EVP API.
// CI signs the exact bytes of a serialized v1::Bundle; the server verifies
// them against the keys its config trusts before it stores anything.
//
// Keys are PEM: private keys PKCS#8 ("BEGIN PRIVATE KEY", unencrypted),
// public keys SubjectPublicKeyInfo ("BEGIN PUBLIC KEY"), as `openssl genpkey
// -algorithm ed25519` and `openssl pkey -pubout` write them. No function here
// puts key material in a status message.
//
// Every function is thread-safe.

#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "pdp/v1/admin.pb.h"
#include "pdp/v1/policy.pb.h"

namespace pdp {

// A fresh Ed25519 key pair, PEM.
struct Ed25519Key {
  std::string private_pem;  // PKCS#8, unencrypted: keep it secret (0600).
  std::string public_pem;   // SubjectPublicKeyInfo.
};

// Makes a new key pair. Returns Internal if OpenSSL fails.
absl::StatusOr<Ed25519Key> GenerateEd25519Key();

// The key id of an Ed25519 public key: "ed25519:" followed by the first 16
// lowercase hex characters (64 bits) of the SHA-256 of the raw 32-byte public
// key, e.g. "ed25519:3f9a0c1d22e4b5a6". It depends only on the key, not on
// how its PEM is formatted. Returns InvalidArgument if `public_pem` is not an
// Ed25519 public key.
absl::StatusOr<std::string> KeyIdOf(absl::string_view public_pem);

// The key id (as KeyIdOf) of the public half of an Ed25519 private key.
// Returns InvalidArgument if `private_pem` is not an Ed25519 private key.
absl::StatusOr<std::string> KeyIdOfPrivate(absl::string_view private_pem);

// The 64-byte Ed25519 signature of `message`. Returns InvalidArgument if
// `private_pem` is not an (unencrypted) Ed25519 private key; Internal if
// OpenSSL fails.
absl::StatusOr<std::string> SignEd25519(absl::string_view private_pem,
                                        absl::string_view message);

// Serializes `bundle` deterministically, signs exactly those bytes and
// returns them with the signature and the signer's key id. Returns
// InvalidArgument as SignEd25519.
absl::StatusOr<v1::SignedBundle> SignBundle(const v1::Bundle& bundle,
                                            absl::string_view private_pem);

// The public keys a server trusts to sign bundles, by key id. Immutable once
// created; thread-safe; cheap to copy.
class TrustedKeys {
 public:
  // From (key id, public key PEM) pairs. The ids are the names signed
  // bundles carry; they need not be KeyIdOf() of the key (though that is the
  // convention). Returns InvalidArgument naming the id for an empty id, a
  // duplicate id, or a PEM that is not an Ed25519 public key.
  static absl::StatusOr<TrustedKeys> Create(
      const std::vector<std::pair<std::string, std::string>>&
          id_and_public_pem);

  // Checks that `signature` is the Ed25519 signature of `message` by the key
  // named `key_id`. Returns OK, or PermissionDenied:
  //   - "bundle is signed by key \"x\", which is not trusted" for an unknown
  //     id ("bundle has no key id; it is not signed" for an empty one);
  //   - "bundle signature does not verify with key \"x\"..." for a wrong,
  //     truncated or empty signature, or a message that was changed.
  // PermissionDenied (not Unauthenticated) throughout: the caller presenting
  // the bundle is authenticated; it is the bundle that is not trusted.
  absl::Status Verify(absl::string_view key_id, absl::string_view message,
                      absl::string_view signature) const;

  // Verifies `signed_bundle` as Verify() does, then parses its bytes.
  // Returns Verify()'s errors, or InvalidArgument if the verified bytes are
  // not a serialized v1::Bundle.
  absl::StatusOr<v1::Bundle> Open(const v1::SignedBundle& signed_bundle) const;

  // How many keys are trusted.
  size_t size() const { return raw_keys_.size(); }
  bool Contains(absl::string_view key_id) const {
    return raw_keys_.contains(key_id);
  }

 private:
  // Key id -> the raw 32-byte public key.
  absl::flat_hash_map<std::string, std::string> raw_keys_;
};

}  // namespace pdp

#endif  // PDP_SIGNING_H_
