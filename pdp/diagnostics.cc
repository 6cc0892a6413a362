#include "pdp/diagnostics.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace pdp {

std::string Diagnostic::ToString() const {
  if (line <= 0) return absl::StrCat(file, ": ", message);
  return absl::StrCat(file, ":", line, ": ", message);
}

void Diagnostics::Add(absl::string_view file, int line, std::string message) {
  // One diagnostic, one line: line breaks echoed from the input are escaped.
  list_.push_back(Diagnostic{std::string(file), line,
                             absl::StrReplaceAll(message, {{"\n", "\\n"},
                                                           {"\r", "\\r"}})});
}

absl::Status Diagnostics::ToStatus(absl::string_view root) const {
  if (list_.empty()) return absl::OkStatus();
  std::vector<Diagnostic> sorted = list_;
  if (!root.empty()) {
    for (Diagnostic& d : sorted) {
      d.file = (std::filesystem::path(std::string(root)) / d.file)
                   .lexically_normal()
                   .generic_string();
    }
  }
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return std::tie(a.file, a.line) < std::tie(b.file, b.line);
                   });
  return absl::InvalidArgumentError(absl::StrJoin(
      sorted, "\n", [](std::string* out, const Diagnostic& d) {
        out->append(d.ToString());
      }));
}

}  // namespace pdp
