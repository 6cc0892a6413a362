#ifndef TESTS_FUZZ_FUZZ_CHECK_H_
#define TESTS_FUZZ_FUZZ_CHECK_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace pdp {
namespace fuzz {

// What feeding one input through the loader and the compiler gave.
struct Result {
  // Every contract held: each diagnostic names one of the input files, has a
  // line >= 0 and a non-empty message, and every non-OK status is
  // InvalidArgument with one "file:line: message" or "file: message" per
  // line (pdp/diagnostics.h).
  bool wellformed = true;
  // The policy compiled (no loader or compiler errors).
  bool ok = false;
  // What broke, when !wellformed.
  std::string problem;
  // Known engine bug, not counted against `wellformed`: the loader accepts
  // strings that are not UTF-8, so the policy compiles but its bundle cannot
  // be parsed back once serialized (proto3 strings must be UTF-8).
  bool invalid_utf8_compiled = false;
};

// Returns "" if `status` is InvalidArgument whose message is one
// "file:line: message" (line > 0) or "file: message" per line, each with a
// non-empty message and a file among `files`; otherwise what is wrong.
std::string MessageProblem(const absl::Status& status,
                           const std::vector<std::string>& files);

// Loads `content` as the file `file` (LoadPolicyYaml) and compiles the
// result (Compiler::Compile), checking every diagnostic and status.
Result CheckPolicyFile(absl::string_view file, absl::string_view content);

// The same for several files loaded into one bundle, as a directory is.
Result CheckPolicyFiles(const std::map<std::string, std::string>& files);

// Compiler::CompileDirectory(dir); `files` are the relative paths of the
// policy files in it.
Result CheckPolicyDirectory(const std::string& dir,
                            const std::vector<std::string>& files);

}  // namespace fuzz
}  // namespace pdp

#endif  // TESTS_FUZZ_FUZZ_CHECK_H_
