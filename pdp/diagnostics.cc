#include "pdp/diagnostics.h"

#include <algorithm>
#include <filesystem>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace pdp {

std::string Diagnostic::ToString() const {
  const absl::string_view kind =
      severity == Severity::kWarning ? "warning: " : "";
  if (file.empty()) return absl::StrCat(kind, message);
  if (line <= 0) return absl::StrCat(file, ": ", kind, message);
  return absl::StrCat(file, ":", line, ": ", kind, message);
}

void Diagnostics::Append(Severity severity, absl::string_view file, int line,
                         std::string message) {
  // One diagnostic, one line: line breaks echoed from the input are escaped.
  list_.push_back(Diagnostic{severity, std::string(file), line,
                             absl::StrReplaceAll(message, {{"\n", "\\n"},
                                                           {"\r", "\\r"}})});
  if (severity == Severity::kError) ++errors_;
}

void Diagnostics::Add(absl::string_view file, int line, std::string message) {
  Append(Severity::kError, file, line, std::move(message));
}

void Diagnostics::AddUnreadable(absl::string_view file, int line,
                                std::string message) {
  Append(Severity::kError, file, line, std::move(message));
  unreadable_.emplace_back(file);
}

void Diagnostics::AddWarning(absl::string_view file, int line,
                             std::string message) {
  Append(Severity::kWarning, file, line, std::move(message));
}

std::vector<Diagnostic> Diagnostics::Sorted(absl::string_view root) const {
  auto unreadable = [this](const Diagnostic& d) {
    return std::find(unreadable_.begin(), unreadable_.end(), d.file) !=
           unreadable_.end();
  };
  std::vector<Diagnostic> sorted = list_;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [&](const Diagnostic& a, const Diagnostic& b) {
                     return std::make_tuple(!unreadable(a), a.file, a.line) <
                            std::make_tuple(!unreadable(b), b.file, b.line);
                   });
  if (!root.empty()) {
    for (Diagnostic& d : sorted) {
      if (d.file.empty()) continue;
      d.file = (std::filesystem::path(std::string(root)) / d.file)
                   .lexically_normal()
                   .generic_string();
    }
  }
  return sorted;
}

absl::Status ErrorStatus(const std::vector<Diagnostic>& issues) {
  std::vector<std::string> lines;
  for (const Diagnostic& d : issues) {
    if (d.severity == Severity::kError) lines.push_back(d.ToString());
  }
  if (lines.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));
}

absl::Status Diagnostics::ToStatus(absl::string_view root) const {
  if (errors_ == 0) return absl::OkStatus();
  return ErrorStatus(Sorted(root));
}

}  // namespace pdp
