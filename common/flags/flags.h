#ifndef COMMON_FLAGS_FLAGS_H_
#define COMMON_FLAGS_FLAGS_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace common {

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

// The one command-line parser of the project's programs (pdpctl, pdp_bench,
// policygen, the server): "--flag value", "--flag=value", boolean "--flag",
// "-x" for a flag with a short name. Each program keeps its own spelling of
// the rules (FlagDialect) and of its error sentences (FlagProblem).

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
  // Every flag given, as (name, value) in command-line order; "true" for a
  // kBool flag. For programs that apply flags one by one.
  const std::vector<std::pair<std::string, std::string>>& in_order() const {
    return in_order_;
  }

 private:
  friend class Parser;
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
  std::vector<std::string> positional_;
  std::vector<std::pair<std::string, std::string>> in_order_;
};

// How one program spells its command lines. The defaults are pdpctl's.
struct FlagDialect {
  // Arguments that are not flags are positional(); false: each is refused
  // (FlagProblem::kUnexpectedArgument).
  bool positional = true;
  // "--" ends the flags (what follows is positional); false: "--" is an
  // unexpected argument.
  bool double_dash_ends_flags = true;
  // "--flag --x" gives --flag the value "--x"; false: --flag has no value
  // (kNeedsValue) unless written "--flag=--x".
  bool values_may_start_with_dashes = false;
  // A kValue flag may have an empty value; false: kNeedsNonEmptyValue.
  bool empty_values = false;
  // "--flag=VALUE" gives a kBool flag VALUE for the program to check (the
  // server's --insecure=false); false: kTakesNoValue. "--flag" alone is
  // always "true" and never takes the next argument.
  bool bool_values = false;
  enum class Repeats {
    kListsAndBools,  // A kValue flag given twice is kRepeated.
    kNone,           // Any flag given twice is kRepeated.
    kAll,            // Every occurrence is kept, in order (in_order()).
  };
  Repeats repeats = Repeats::kListsAndBools;
};

// Every argument is a --flag, each given at most once with a non-empty
// value (pdp_bench).
FlagDialect StrictDialect();

// Every argument is a --flag and every occurrence counts, in order
// (in_order()); a value may be empty or start with "--" (policygen, the
// server).
FlagDialect SequentialDialect();

// Why a command line was refused.
struct FlagProblem {
  enum class Kind {
    kUnknownFlag,         // `name`: the flag without its dashes.
    kUnknownShortFlag,    // `name`: the argument as given ("-q").
    kUnexpectedArgument,  // `name`: the argument as given.
    kNeedsValue,
    kNeedsNonEmptyValue,
    kTakesNoValue,
    kRepeated,
  };
  Kind kind = Kind::kUnknownFlag;
  std::string name;
  std::string value_name;  // The spec's, for the kNeeds* kinds.
};

// pdpctl's sentences: "unknown flag --x", "flag --x needs a value: --x ID",
// "flag --x is given more than once", ...
std::string DefaultFlagMessage(const FlagProblem& problem);

// Parses `argv` (the arguments after the command or program name) against
// `specs`. Accepts "--flag value", "--flag=value" and boolean "--flag" (and
// "-x value" or "-x" for a flag with short_name 'x'); "--" ends the flags.
// A value that starts with "--" must use the "--flag=value" form.
// Returns InvalidArgument with message(problem) for the first problem of
// the command line as `dialect` spells it: an unknown flag, a missing or
// empty value, a value given to a boolean flag, a flag given twice, an
// argument that is not a flag.
absl::StatusOr<Args> ParseArgs(
    const std::vector<std::string>& argv, const std::vector<FlagSpec>& specs,
    const FlagDialect& dialect = {},
    std::string (*message)(const FlagProblem&) = DefaultFlagMessage);

// The "flags:" section of a usage text: one aligned line per flag.
std::string FormatFlagHelp(const std::vector<FlagSpec>& specs);

}  // namespace common

#endif  // COMMON_FLAGS_FLAGS_H_
