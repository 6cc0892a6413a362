#ifndef PDP_COMPILER_H_
#define PDP_COMPILER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pdp/diagnostics.h"
#include "pdp/snapshot.h"
#include "pdp/v1/policy.pb.h"

namespace pdp {

// What compiling a policy found: the snapshot, unless there was an error, and
// every issue, errors and warnings, in reading order (Diagnostics::Sorted).
// Warnings (an empty policy, a role that grants nothing, a declared scope or
// data class no tool uses, a glob that matches a single tool, unless it is
// "server.*") never stop a policy from compiling, and come only with a policy
// that has no errors: they may follow from an error.
struct Compilation {
  std::shared_ptr<const Snapshot> snapshot;  // Null when an issue is an error.
  std::vector<Diagnostic> issues;

  // OK with a snapshot; otherwise InvalidArgument with every error, one
  // "file:line: message" per line.
  absl::Status status() const;
  std::vector<Diagnostic> warnings() const;
};

// Turns a policy into an immutable Snapshot: checks every cross-reference
// (duplicate ids, unknown roles, agents, clients and services, inheritance
// cycles, globs that match no tool, undeclared scopes and data classes, empty
// deny rules, unsafe redirect URIs, servers without tools and ambiguous
// audiences), interns ids, flattens inheritance and expands globs into
// bitsets. Stateless; thread-safe.
class Compiler {
 public:
  // Compiles `bundle`, reporting every issue as data.
  static Compilation CompileWithIssues(const v1::Bundle& bundle);

  // Loads (pdp/policy_loader.h) and compiles a policy directory, reporting
  // the issues of both steps together, with file names joined to `dir`
  // ("dir/roles.yaml:7"). Returns NotFound if `dir` is not a readable
  // directory. Sources in the snapshot's bundle stay relative to `dir`.
  static absl::StatusOr<Compilation> CompileDirectoryWithIssues(
      const std::string& dir);

  // The shorthands for callers that need no warnings: the snapshot, or
  // Compilation::status().
  static absl::StatusOr<std::shared_ptr<const Snapshot>> Compile(
      const v1::Bundle& bundle);

  static absl::StatusOr<std::shared_ptr<const Snapshot>> CompileDirectory(
      const std::string& dir);
};

}  // namespace pdp

#endif  // PDP_COMPILER_H_
