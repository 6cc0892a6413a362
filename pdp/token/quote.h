#ifndef PDP_TOKEN_QUOTE_H_
#define PDP_TOKEN_QUOTE_H_

// Quoting untrusted values (claims, key ids) into messages. Internal to
// pdp/token. Thread-safe.

#include <string>

#include "absl/strings/string_view.h"

namespace pdp {
namespace token {
namespace internal {

// At most this many characters of a value are quoted.
constexpr size_t kMaxQuotedChars = 100;

// `value` in single quotes, with every byte outside printable ASCII (and the
// quote and backslash) replaced by '?', cut to kMaxQuotedChars characters
// with "..." appended when longer: safe to put in a log line or a reason.
std::string Quote(absl::string_view value);

}  // namespace internal
}  // namespace token
}  // namespace pdp

#endif  // PDP_TOKEN_QUOTE_H_
