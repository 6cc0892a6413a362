#ifndef PDP_TOKEN_JWS_SIGNATURE_H_
#define PDP_TOKEN_JWS_SIGNATURE_H_

// Checking one JWS signature with OpenSSL's EVP API. Internal to pdp/token:
// TokenVerifier decides which key and algorithm apply; this only does the
// cryptography. Thread-safe (the key is only read).

#include <openssl/evp.h>

#include "absl/strings/string_view.h"
#include "pdp/token/jws_algorithm.h"

namespace pdp {
namespace token {
namespace internal {

// True if `signature` is a valid `algorithm` signature of `signing_input`
// ("base64url(header).base64url(payload)") by `key`. ES256 signatures must be
// the 64-byte JOSE form r || s (RFC 7518 §3.4); any other length (such as
// DER) is false. PS256 requires a 32-byte salt. False, never a crash, for a
// key of another type. Leaves OpenSSL's error queue empty.
// REQUIRES: key != nullptr.
bool VerifyJwsSignature(JwsAlgorithm algorithm, EVP_PKEY* key,
                        absl::string_view signing_input,
                        absl::string_view signature);

}  // namespace internal
}  // namespace token
}  // namespace pdp

#endif  // PDP_TOKEN_JWS_SIGNATURE_H_
