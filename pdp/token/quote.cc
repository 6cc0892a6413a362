#include "pdp/token/quote.h"

namespace pdp {
namespace token {
namespace internal {

std::string Quote(absl::string_view value) {
  const bool cut = value.size() > kMaxQuotedChars;
  if (cut) value = value.substr(0, kMaxQuotedChars);
  std::string out;
  out.reserve(value.size() + 5);
  out.push_back('\'');
  for (char c : value) {
    const bool printable = c >= 0x20 && c <= 0x7e && c != '\'' && c != '\\';
    out.push_back(printable ? c : '?');
  }
  if (cut) out.append("...");
  out.push_back('\'');
  return out;
}

}  // namespace internal
}  // namespace token
}  // namespace pdp
