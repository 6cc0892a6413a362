// policygen --out DIR [--tools N] [--servers N] [--big-server-tools N]
//           [--roles N] [--agents N] [--clients N] [--services N]
//           [--users N] [--scopes N] [--data-classes N] [--deny-rules N]
//           [--seed S]
//
// Writes a generated policy directory (pdp/testing/policy_generator.h):
// by default 10,000 tools over 10 servers (the server "big" has 1,000),
// 200 roles, 50 agents, 20 clients, 10 services and 1,000 users. The same
// flags always write the same files. Exit 0 on success, 2 for usage errors,
// 1 if the files cannot be written.

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/flags/flags.h"
#include "pdp/testing/policy_generator.h"

namespace {

constexpr char kUsage[] =
    "usage: policygen --out DIR [--tools N] [--servers N] "
    "[--big-server-tools N]\n"
    "                 [--roles N] [--agents N] [--clients N] [--services N]\n"
    "                 [--users N] [--scopes N] [--data-classes N] "
    "[--deny-rules N] [--seed S]\n";

std::string FlagMessage(const common::FlagProblem& problem) {
  using Kind = common::FlagProblem::Kind;
  switch (problem.kind) {
    case Kind::kNeedsValue:
      return absl::StrCat("--", problem.name, " needs a value");
    case Kind::kUnknownShortFlag:
    case Kind::kUnexpectedArgument:
      return absl::StrCat("unknown flag \"", problem.name, "\"");
    default:
      return absl::StrCat("unknown flag \"--", problem.name, "\"");
  }
}

int Usage(const std::string& error) {
  std::fprintf(stderr, "policygen: %s\n%s", error.c_str(), kUsage);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  pdp::testgen::PolicyGeneratorOptions options;
  std::string out;
  struct IntFlag {
    absl::string_view name;
    int* value;
  };
  const IntFlag int_flags[] = {
      {"--tools", &options.tools},
      {"--servers", &options.servers},
      {"--big-server-tools", &options.big_server_tools},
      {"--roles", &options.roles},
      {"--agents", &options.agents},
      {"--clients", &options.clients},
      {"--services", &options.services},
      {"--users", &options.users},
      {"--scopes", &options.scopes},
      {"--data-classes", &options.data_classes},
      {"--deny-rules", &options.deny_rules},
  };
  std::vector<common::FlagSpec> specs = {
      {"out", common::FlagSpec::Kind::kValue},
      {"seed", common::FlagSpec::Kind::kValue},
      {"help", common::FlagSpec::Kind::kBool, "", "", 'h'},
  };
  for (const IntFlag& flag : int_flags) {
    specs.push_back({std::string(flag.name.substr(2)),
                     common::FlagSpec::Kind::kValue});
  }
  absl::StatusOr<common::Args> args =
      common::ParseArgs(std::vector<std::string>(argv + 1, argv + argc), specs,
                        common::SequentialDialect(), FlagMessage);
  if (!args.ok()) return Usage(std::string(args.status().message()));
  for (const auto& [flag_name, value] : args->in_order()) {
    const std::string name = absl::StrCat("--", flag_name);
    if (name == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (name == "--out") {
      out = value;
      continue;
    }
    if (name == "--seed") {
      uint64_t seed;
      if (!absl::SimpleAtoi(value, &seed)) {
        return Usage(
            absl::StrCat("--seed must be a number, not \"", value, "\""));
      }
      options.seed = seed;
      continue;
    }
    for (const IntFlag& flag : int_flags) {
      if (name != flag.name) continue;
      if (!absl::SimpleAtoi(value, flag.value) || *flag.value < 0) {
        return Usage(absl::StrCat(
            name, " must be a non-negative number, not \"", value, "\""));
      }
    }
  }
  if (out.empty()) return Usage("--out DIR is required");

  const pdp::testgen::PolicyFiles files = pdp::testgen::GeneratePolicy(options);
  if (absl::Status status = pdp::testgen::WritePolicyFiles(files, out);
      !status.ok()) {
    std::fprintf(stderr, "policygen: %s\n",
                 std::string(status.message()).c_str());
    return 1;
  }
  std::printf("policygen: wrote %zu files to %s (seed %llu)\n", files.size(),
              out.c_str(), static_cast<unsigned long long>(options.seed));
  return 0;
}
