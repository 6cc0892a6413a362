#ifndef PDP_TOKEN_TESTING_TOKEN_MINTER_H_
#define PDP_TOKEN_TESTING_TOKEN_MINTER_H_

// Test-only: signing keys generated at test time with OpenSSL, and tokens
// signed with them, well-formed or deliberately broken. For the unit tests of
// pdp/token and for server and pdpctl tests that need real tokens.
//
// Functions abort the test binary if OpenSSL fails (they are not meant to
// fail). Every function is thread-safe; TestSigningKey is immutable.

#include <openssl/evp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "pdp/token/jws_algorithm.h"

namespace pdp {
namespace token {

// A private signing key with its JWS algorithm and key id.
class TestSigningKey {
 public:
  // A fresh key: RSA 2048 for RS256 and PS256, P-256 for ES256, Ed25519 for
  // EdDSA.
  static TestSigningKey Generate(JwsAlgorithm alg, std::string kid);

  JwsAlgorithm alg() const { return alg_; }
  const std::string& kid() const { return kid_; }
  // The key pair (private and public).
  EVP_PKEY* pkey() const { return key_.get(); }

  // The public JWK as a JSON object string, with kty, kid, alg, use "sig" and
  // the public members (n, e / crv, x, y / crv, x).
  std::string JwkJson() const;
  // The public key, PEM SubjectPublicKeyInfo ("BEGIN PUBLIC KEY").
  std::string PublicKeyPem() const;
  // The raw JWS signature of `signing_input` (ES256: 64-byte r || s).
  std::string Sign(absl::string_view signing_input) const;
  // ES256 only: the signature in OpenSSL's DER form, which JOSE forbids.
  std::string SignDer(absl::string_view signing_input) const;

 private:
  TestSigningKey(JwsAlgorithm alg, std::string kid,
                 std::shared_ptr<EVP_PKEY> key)
      : alg_(alg), kid_(std::move(kid)), key_(std::move(key)) {}

  JwsAlgorithm alg_;
  std::string kid_;
  std::shared_ptr<EVP_PKEY> key_;
};

// {"keys": [the keys' JwkJson()]}.
std::string JwkSetJson(const std::vector<const TestSigningKey*>& keys);

// A compact JWS of `claims` signed by `key`. The header is {"alg": the key's
// algorithm, "kid": its id, "typ": "JWT"}, merged with `extra_header` (if an
// object) as an RFC 7386 merge patch: members override, null removes.
std::string MintToken(const TestSigningKey& key, const nlohmann::json& claims,
                      const nlohmann::json& extra_header = {});

// A compact JWS whose header and payload are the given bytes (which need not
// be JSON), correctly signed by `key`.
std::string SignParts(const TestSigningKey& key, absl::string_view header,
                      absl::string_view payload);

// base64url(header).base64url(claims).base64url(signature), with the given
// raw signature bytes: for crafted defects ("alg": "none" with an empty
// signature, a copied signature...).
std::string MintUnsigned(nlohmann::json header, nlohmann::json claims,
                         absl::string_view signature);

// A token signed with HMAC-SHA256 under `secret`, with the header as given:
// the "HS256 with the RSA public key as secret" confusion attack.
std::string MintHs256(absl::string_view secret, nlohmann::json header,
                      nlohmann::json claims);

// A self-signed P-256 certificate with this common name, PEM.
std::string SelfSignedCertificatePem(absl::string_view common_name = "test");

}  // namespace token
}  // namespace pdp

#endif  // PDP_TOKEN_TESTING_TOKEN_MINTER_H_
