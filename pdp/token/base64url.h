#ifndef PDP_TOKEN_BASE64URL_H_
#define PDP_TOKEN_BASE64URL_H_

// Base64url without padding, as JWS (RFC 7515 §2) uses it for every part of a
// compact token. Decoding is strict so that every byte string has exactly one
// accepted encoding: a token that differs from a verified one in any character
// is a different token.
//
// Every function is thread-safe.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pdp {
namespace token {

// Decodes RFC 4648 §5 base64url with no padding. Returns InvalidArgument for
// any character outside [A-Za-z0-9_-] (including '=', '+', '/' and
// whitespace), for a length that leaves a single trailing character
// (length % 4 == 1), and for non-zero unused bits in the last character (a
// non-canonical encoding). The message never quotes the input.
absl::StatusOr<std::string> Base64UrlDecode(absl::string_view encoded);

// Encodes `data` as base64url with no padding.
std::string Base64UrlEncode(absl::string_view data);

}  // namespace token
}  // namespace pdp

#endif  // PDP_TOKEN_BASE64URL_H_
