#ifndef PDP_DIAGNOSTICS_H_
#define PDP_DIAGNOSTICS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace pdp {

// One policy error: where it is and a sentence saying what is wrong.
struct Diagnostic {
  std::string file;  // Relative to the policy directory.
  int line = 0;      // 1-based; 0 when the error concerns the whole file.
  std::string message;

  // "file:line: message" (or "file: message" without a line).
  std::string ToString() const;
};

// Collects every error of a policy so that all are reported at once.
// Thread-compatible.
class Diagnostics {
 public:
  void Add(absl::string_view file, int line, std::string message);

  bool empty() const { return list_.empty(); }
  const std::vector<Diagnostic>& list() const { return list_; }

  // OK when empty; otherwise InvalidArgument whose message is every
  // diagnostic, sorted by file and line, one per line. A non-empty `root`
  // is joined before each file name, so that the names can be opened.
  absl::Status ToStatus(absl::string_view root = "") const;

 private:
  std::vector<Diagnostic> list_;
};

}  // namespace pdp

#endif  // PDP_DIAGNOSTICS_H_
