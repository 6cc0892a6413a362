#ifndef TOOLS_PDPCTL_COMMANDS_H_
#define TOOLS_PDPCTL_COMMANDS_H_

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "pdp/compiler.h"
#include "pdp/snapshot.h"
#include "tools/pdpctl/flags.h"

namespace pdpctl {

// pdpctl's exit codes, the same for every command.
inline constexpr int kExitOk = 0;  // Done; a DENY is a decision, not a failure.
// The command failed: policy errors (validate, bundle), a server that
// refused or could not be reached, a malformed input file.
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;   // Bad command line, policy or chain.

// One pdpctl subcommand. To add a command: write its run function and add a
// row to its group's table (policy_commands.cc, bundle_commands.cc, ...);
// help, --help and flag parsing come from the row. A new group is listed in
// Commands() (registry.cc).
struct Command {
  std::string name;      // "check"
  std::string synopsis;  // After "pdpctl ": "check --policy DIR ...".
  std::string summary;   // One line, for the command list.
  std::string details;   // What it does and prints; may be empty.
  std::vector<FlagSpec> flags;
  // Runs the command on parsed flags: results to `out`, errors to `err`.
  // Returns the exit code.
  int (*run)(const Args& args, std::ostream& out, std::ostream& err);
};

// Every command of every group, in the order `pdpctl help` lists them.
// Defined by the registry (registry.cc, target :registry), the one target
// that depends on every group.
const std::vector<Command>& Commands();

// `pdpctl help`: the commands and the exit codes. Defined by the registry.
std::string MainUsage();

// `pdpctl help <command>`: synopsis, details and flags.
std::string CommandUsage(const Command& command);

// Helpers shared by the commands' implementations.

// Prints a usage problem naming the command; returns kExitUsage.
int UsageError(absl::string_view command, absl::string_view message,
               std::ostream& err);

// "1 tool", "2 tools".
std::string Plural(size_t n, absl::string_view noun);

// For the commands about a policy as such (validate, bundle): compiles a
// policy directory and prints every issue, errors and the compiler's
// warnings, one "file:line: [warning: ]message" per line in reading order
// (or the reason the directory cannot be read). The compilation has no
// snapshot if there was an error.
absl::StatusOr<pdp::Compilation> CompilePolicy(absl::string_view command,
                                               const std::string& dir,
                                               std::ostream& err);

// Compiles a policy directory; on failure prints every policy error, one
// "file:line: message" per line (or the reason the directory cannot be
// read), and returns the status.
absl::StatusOr<std::shared_ptr<const pdp::Snapshot>> LoadPolicy(
    absl::string_view command, const std::string& dir, std::ostream& err);

// Runs pdpctl on `argv`, the arguments after the program name. Writes to
// `out` and `err` only, never exits; returns the process exit code.
// Thread-compatible (commands keep no state). Defined by the registry.
int Run(const std::vector<std::string>& argv, std::ostream& out,
        std::ostream& err);

}  // namespace pdpctl

#endif  // TOOLS_PDPCTL_COMMANDS_H_
