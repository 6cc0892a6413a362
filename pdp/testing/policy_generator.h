#ifndef PDP_TESTING_POLICY_GENERATOR_H_
#define PDP_TESTING_POLICY_GENERATOR_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"

namespace pdp {
namespace testgen {

// The shape of a generated policy. Every count is a target; the generator
// clamps counts that are too small to make a meaningful policy (at least one
// of each element, at least two servers).
struct PolicyGeneratorOptions {
  // The same seed and options always give byte-identical files.
  uint64_t seed = 1;
  // Tools across all servers.
  int tools = 10000;
  // Servers, the "big" one included.
  int servers = 10;
  // Tools of the server named "big" (clamped to half of `tools`).
  int big_server_tools = 1000;
  // Roles, with acyclic inheritance several levels deep.
  int roles = 200;
  int agents = 50;
  int clients = 20;
  int services = 10;
  // Users with 0-3 roles each, in files of at most 500 users.
  int users = 1000;
  // Declared in a `scopes:` registry; tools draw from them.
  int scopes = 100;
  // Declared in a `data_classes:` registry (at most 64).
  int data_classes = 10;
  // Deny rules, each with a different mix of `when` keys.
  int deny_rules = 24;
};

// Policy files by path relative to the policy directory ("tools/big.yaml").
using PolicyFiles = std::map<std::string, std::string>;

// Generates a realistic policy directory: tools across servers (the server
// "big" has options.big_server_tools tools named "big.tool_<n>"; the others,
// "crm", "hr", ... then "srv<n>", have uneven counts and ids
// "<server>.<verb>_<noun>_<n>"), a scope and a data class registry, roles
// granting globs ("crm.*", "big.tool_1*", "crm.search_*", "*.list_*",
// "big.tool_1?") and exact ids with inheritance, agents, clients of every
// trust level, services, users and deny rules using every `when` key. Risk,
// autonomy, auth and min_client_trust vary, defaults are sometimes left
// implicit. The result compiles cleanly with Compiler::CompileDirectory.
// Deterministic in `options`; thread-safe.
PolicyFiles GeneratePolicy(const PolicyGeneratorOptions& options = {});

// Writes `files` under `dir`, creating it and any subdirectories.
// Returns Internal if a directory or file cannot be written.
absl::Status WritePolicyFiles(const PolicyFiles& files, const std::string& dir);

}  // namespace testgen
}  // namespace pdp

#endif  // PDP_TESTING_POLICY_GENERATOR_H_
