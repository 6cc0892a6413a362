#include "tools/pdpctl/commands.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "pdp/compiler.h"

namespace pdpctl {

int UsageError(absl::string_view command, absl::string_view message,
               std::ostream& err) {
  err << "pdpctl " << command << ": " << message << "\n"
      << "run 'pdpctl " << command << " --help' for usage\n";
  return kExitUsage;
}

std::string Plural(size_t n, absl::string_view noun) {
  return absl::StrCat(n, " ", noun, n == 1 ? "" : "s");
}

absl::StatusOr<pdp::Compilation> CompilePolicy(absl::string_view command,
                                               const std::string& dir,
                                               std::ostream& err) {
  absl::StatusOr<pdp::Compilation> compiled =
      pdp::Compiler::CompileDirectoryWithIssues(dir);
  if (!compiled.ok()) {
    err << "pdpctl " << command << ": " << compiled.status().message() << "\n";
    return compiled;
  }
  for (const pdp::Diagnostic& issue : compiled->issues) {
    if (issue.file.empty()) err << "pdpctl " << command << ": ";
    err << issue.ToString() << "\n";
  }
  return compiled;
}

absl::StatusOr<std::shared_ptr<const pdp::Snapshot>> LoadPolicy(
    absl::string_view command, const std::string& dir, std::ostream& err) {
  absl::StatusOr<std::shared_ptr<const pdp::Snapshot>> snapshot =
      pdp::Compiler::CompileDirectory(dir);
  if (snapshot.ok()) return snapshot;
  if (snapshot.status().code() == absl::StatusCode::kInvalidArgument) {
    err << snapshot.status().message() << "\n";  // One error per line.
  } else {
    err << "pdpctl " << command << ": " << snapshot.status().message() << "\n";
  }
  return snapshot;
}

std::string CommandUsage(const Command& command) {
  std::string summary = command.summary;
  if (!summary.empty()) summary[0] = absl::ascii_toupper(summary[0]);
  std::string text =
      absl::StrCat("usage: pdpctl ", command.synopsis, "\n\n", summary, ".\n");
  if (!command.details.empty()) absl::StrAppend(&text, "\n", command.details);
  if (!command.flags.empty()) {
    absl::StrAppend(&text, "\nflags:\n", FormatFlagHelp(command.flags));
  }
  return text;
}

}  // namespace pdpctl
