#ifndef PDP_DIAGNOSTICS_H_
#define PDP_DIAGNOSTICS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace pdp {

// How serious an issue is: an error stops the policy from compiling; a
// warning points at something that compiles but is probably not meant.
enum class Severity { kError, kWarning };

// One issue of a policy: its severity, where it is and a sentence saying
// what is wrong.
struct Diagnostic {
  Severity severity = Severity::kError;
  std::string file;  // Relative to the policy directory; empty: the policy.
  int line = 0;      // 1-based; 0 when the issue concerns the whole file.
  std::string message;

  // "file:line: message" (or "file: message" without a line, "message"
  // without a file); a warning's message starts with "warning: ".
  std::string ToString() const;
};

// OK when `issues` has no error; otherwise InvalidArgument whose message is
// every error, in the given order, one "file:line: message" per line.
absl::Status ErrorStatus(const std::vector<Diagnostic>& issues);

// Collects every issue of a policy so that all are reported at once.
// Thread-compatible.
class Diagnostics {
 public:
  // Adds an error.
  void Add(absl::string_view file, int line, std::string message);
  // Adds an error after which the rest of `file` could not be read: the
  // errors of other files that follow from it are reported after it.
  void AddUnreadable(absl::string_view file, int line, std::string message);
  void AddWarning(absl::string_view file, int line, std::string message);

  // True when no issue at all was added.
  bool empty() const { return list_.empty(); }
  bool has_errors() const { return errors_ > 0; }
  // In the order they were added.
  const std::vector<Diagnostic>& list() const { return list_; }

  // Every issue in reading order: first the errors of files that could not
  // be read, then everything else by file and line. A non-empty `root` is
  // joined before each file name, so that the names can be opened.
  std::vector<Diagnostic> Sorted(absl::string_view root = "") const;

  // OK without errors; otherwise InvalidArgument whose message is every
  // error, in Sorted() order, one per line. Warnings are left out.
  absl::Status ToStatus(absl::string_view root = "") const;

 private:
  void Append(Severity severity, absl::string_view file, int line,
              std::string message);

  std::vector<Diagnostic> list_;
  std::vector<std::string> unreadable_;  // Files, in the order added.
  int errors_ = 0;
};

}  // namespace pdp

#endif  // PDP_DIAGNOSTICS_H_
