#ifndef PDP_QUOTE_H_
#define PDP_QUOTE_H_

// Quoting caller-supplied text (ids, claims, key ids, paths) into messages,
// reasons and log lines: the one place where untrusted text is escaped and
// shortened. Thread-safe.

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace pdp {

// At most this many bytes of a value are quoted.
constexpr size_t kMaxQuotedBytes = 120;

// `value` in double quotes, C-escaped (quotes, backslashes, control and
// non-ASCII bytes as \" \\ \n \xNN), and, when longer than kMaxQuotedBytes,
// cut there and followed by `... (N bytes)`. The result is at most
// 4 * kMaxQuotedBytes + 32 bytes whatever the input.
std::string Quote(absl::string_view value);

}  // namespace pdp

#endif  // PDP_QUOTE_H_
