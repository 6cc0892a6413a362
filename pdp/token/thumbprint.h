#ifndef PDP_TOKEN_THUMBPRINT_H_
#define PDP_TOKEN_THUMBPRINT_H_

// The X.509 certificate SHA-256 thumbprint that certificate-bound access
// tokens carry in cnf["x5t#S256"] (RFC 8705 §3.1).
//
// Thread-safe.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pdp {
namespace token {

// base64url(SHA-256(DER)) of a certificate given as PEM ("BEGIN
// CERTIFICATE"; the first one if several) or as DER. Returns InvalidArgument
// if the input is not a certificate (or DER with trailing bytes).
absl::StatusOr<std::string> CertificateThumbprint(absl::string_view pem_or_der);

}  // namespace token
}  // namespace pdp

#endif  // PDP_TOKEN_THUMBPRINT_H_
