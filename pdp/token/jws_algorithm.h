#ifndef PDP_TOKEN_JWS_ALGORITHM_H_
#define PDP_TOKEN_JWS_ALGORITHM_H_

// The JWS signature algorithms (RFC 7518 §3, RFC 8037 §3.1) the PDP accepts.
// Only asymmetric ones: "none" and the HMAC family have no value here, so a
// token naming them can never match a trusted key.
//
// Every function is thread-safe.

#include <optional>

#include "absl/strings/string_view.h"

namespace pdp {
namespace token {

enum class JwsAlgorithm {
  kRs256,  // RSASSA-PKCS1-v1_5 with SHA-256.
  kPs256,  // RSASSA-PSS with SHA-256, MGF1 SHA-256, 32-byte salt.
  kEs256,  // ECDSA P-256 with SHA-256; the signature is raw r || s.
  kEdDsa,  // Ed25519 (RFC 8037).
};

// The JOSE name: "RS256", "PS256", "ES256", "EdDSA".
absl::string_view JwsAlgorithmName(JwsAlgorithm algorithm);

// The algorithm with this exact (case-sensitive) JOSE name; nullopt for any
// other name, including "none", "HS256" and "RS384".
std::optional<JwsAlgorithm> ParseJwsAlgorithm(absl::string_view name);

}  // namespace token
}  // namespace pdp

#endif  // PDP_TOKEN_JWS_ALGORITHM_H_
