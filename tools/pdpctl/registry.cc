// The registry: every command group, in the order `pdpctl help` lists them.
#include <algorithm>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/pdpctl/bundle_commands.h"
#include "tools/pdpctl/commands.h"
#include "tools/pdpctl/diff.h"
#include "tools/pdpctl/policy_commands.h"
#include "tools/pdpctl/policy_tests.h"
#include "tools/pdpctl/token_commands.h"
#include "tools/pdpctl/user_commands.h"

namespace pdpctl {
namespace {

const Command* FindCommand(absl::string_view name) {
  for (const Command& command : Commands()) {
    if (command.name == name) return &command;
  }
  return nullptr;
}

}  // namespace

const std::vector<Command>& Commands() {
  static const std::vector<Command>* const commands = [] {
    auto* all = new std::vector<Command>(PolicyCommands());
    for (Command& command : TokenCommands()) {
      all->push_back(std::move(command));
    }
    all->push_back(PolicyTestCommand());
    for (Command& command : BundleCommands()) {
      all->push_back(std::move(command));
    }
    for (Command& command : UserCommands()) {
      all->push_back(std::move(command));
    }
    all->push_back(DiffCommand());
    return all;
  }();
  return *commands;
}

std::string MainUsage() {
  std::string text =
      "pdpctl: policy directories, signed bundles and PDP administration\n"
      "\n"
      "usage: pdpctl <command> [flags]\n"
      "\n"
      "commands:\n";
  size_t width = 4;  // "help"
  for (const Command& command : Commands()) {
    width = std::max(width, command.name.size());
  }
  for (const Command& command : Commands()) {
    absl::StrAppend(&text, "  ", command.name,
                    std::string(width - command.name.size() + 3, ' '),
                    command.summary, "\n");
  }
  absl::StrAppend(&text, "  help", std::string(width - 4 + 3, ' '),
                  "show this help, or a command's: pdpctl help <command>\n");
  absl::StrAppend(
      &text,
      "\n"
      "Run 'pdpctl <command> --help' for a command's flags.\n"
      "\n"
      "exit codes:\n"
      "  0  done; a DENY is a decision, not a failure\n"
      "  1  the command failed: the policy has errors (validate, bundle), a\n"
      "     server refused or could not be reached, a malformed users file,\n"
      "     a refused client request (client-request)\n"
      "  2  usage error, a policy that does not compile, or a malformed "
      "identity chain\n");
  return text;
}

int Run(const std::vector<std::string>& argv, std::ostream& out,
        std::ostream& err) {
  if (argv.empty()) {
    err << MainUsage();
    return kExitUsage;
  }
  const std::string& name = argv[0];
  if (name == "help" || name == "--help" || name == "-h") {
    if (name == "help" && argv.size() > 1) {
      const Command* command = FindCommand(argv[1]);
      if (command == nullptr) {
        err << "pdpctl help: unknown command '" << argv[1] << "'\n"
            << "run 'pdpctl help' for the list of commands\n";
        return kExitUsage;
      }
      out << CommandUsage(*command);
      return kExitOk;
    }
    out << MainUsage();
    return kExitOk;
  }
  const Command* command = FindCommand(name);
  if (command == nullptr) {
    if (name.rfind('-', 0) == 0) {
      err << "pdpctl: unknown flag '" << name
          << "'; the command comes first: pdpctl <command> [flags]\n";
    } else {
      err << "pdpctl: unknown command '" << name << "'\n";
    }
    err << "run 'pdpctl help' for the list of commands\n";
    return kExitUsage;
  }
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  for (const std::string& arg : rest) {
    if (arg == "--") break;
    if (arg == "--help" || arg == "-h") {
      out << CommandUsage(*command);
      return kExitOk;
    }
  }
  absl::StatusOr<Args> args = ParseArgs(rest, command->flags);
  if (!args.ok()) {
    return UsageError(command->name, args.status().message(), err);
  }
  return command->run(*args, out, err);
}

}  // namespace pdpctl
