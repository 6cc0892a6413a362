#ifndef TOOLS_PDPCTL_FLAGS_H_
#define TOOLS_PDPCTL_FLAGS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pdpctl {

// One flag a command accepts.
struct FlagSpec {
  enum class Kind {
    kBool,   // --name; no value.
    kValue,  // --name VALUE or --name=VALUE; non-empty; at most once.
    kList,   // --name a,b or --name=a,b; repeatable, items accumulate.
  };
  std::string name;  // Without the leading "--".
  Kind kind = Kind::kValue;
  std::string value_name;  // Shown in help: "--tool ID".
  std::string help;        // One line.
  char short_name = 0;     // If set, "-o" is the same as "--out".
};

// A command line parsed against a set of FlagSpecs. Immutable once built.
class Args {
 public:
  // True if the flag was given (a list flag counts even when empty).
  bool Has(absl::string_view name) const;
  // The flag's value; "" if absent. For a kBool flag, "true" if present.
  std::string Get(absl::string_view name) const;
  // A kList flag's items, in order, empty items dropped.
  std::vector<std::string> GetList(absl::string_view name) const;
  // Arguments that are not flags, in order.
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  friend absl::StatusOr<Args> ParseArgs(const std::vector<std::string>& argv,
                                        const std::vector<FlagSpec>& specs);
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
  std::vector<std::string> positional_;
};

// Parses `argv` (the arguments after the command name) against `specs`.
// Accepts "--flag value", "--flag=value" and boolean "--flag" (and "-x value"
// or "-x" for a flag with short_name 'x'); "--" ends the flags. A value that starts with "--" must use the "--flag=value" form.
// Returns InvalidArgument with a sentence naming the flag for an unknown flag,
// a missing or empty value, a value given to a boolean flag, or a kValue flag
// given twice.
absl::StatusOr<Args> ParseArgs(const std::vector<std::string>& argv,
                               const std::vector<FlagSpec>& specs);

// The "flags:" section of a usage text: one aligned line per flag.
std::string FormatFlagHelp(const std::vector<FlagSpec>& specs);

}  // namespace pdpctl

#endif  // TOOLS_PDPCTL_FLAGS_H_
