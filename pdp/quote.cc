#include "pdp/quote.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace pdp {

namespace {

// Whether CHexEscape would leave `value` as it is.
bool Plain(absl::string_view value) {
  for (char c : value) {
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '\'') {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string Quote(absl::string_view value) {
  if (value.size() <= kMaxQuotedBytes && Plain(value)) {
    return absl::StrCat("\"", value, "\"");
  }
  if (value.size() <= kMaxQuotedBytes) {
    return absl::StrCat("\"", absl::CHexEscape(value), "\"");
  }
  return absl::StrCat("\"", absl::CHexEscape(value.substr(0, kMaxQuotedBytes)),
                      "\"... (", value.size(), " bytes)");
}

}  // namespace pdp
