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

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "pdp/testing/policy_generator.h"

namespace {

constexpr char kUsage[] =
    "usage: policygen --out DIR [--tools N] [--servers N] "
    "[--big-server-tools N]\n"
    "                 [--roles N] [--agents N] [--clients N] [--services N]\n"
    "                 [--users N] [--scopes N] [--data-classes N] "
    "[--deny-rules N] [--seed S]\n";

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
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    // Accept both "--flag value" and "--flag=value".
    absl::string_view name = arg, value;
    bool inline_value = false;
    if (size_t eq = arg.find('='); eq != absl::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      inline_value = true;
    }
    if (!inline_value) {
      if (i + 1 >= argc) return Usage(absl::StrCat(name, " needs a value"));
      value = argv[++i];
    }
    if (name == "--out") {
      out = std::string(value);
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
    bool known = false;
    for (const IntFlag& flag : int_flags) {
      if (name != flag.name) continue;
      known = true;
      if (!absl::SimpleAtoi(value, flag.value) || *flag.value < 0) {
        return Usage(absl::StrCat(
            name, " must be a non-negative number, not \"", value, "\""));
      }
    }
    if (!known) return Usage(absl::StrCat("unknown flag \"", name, "\""));
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
