#ifndef PDP_COMPILER_H_
#define PDP_COMPILER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "pdp/snapshot.h"
#include "pdp/v1/policy.pb.h"

namespace pdp {

// Turns a policy into an immutable Snapshot: checks every cross-reference
// (duplicate ids, unknown roles, agents, clients and services, inheritance
// cycles, globs that match no tool, undeclared scopes and data classes, empty
// deny rules, unsafe redirect URIs, servers without tools and ambiguous
// audiences), interns ids, flattens inheritance and expands globs into
// bitsets. Stateless; thread-safe.
class Compiler {
 public:
  // Returns InvalidArgument if the bundle does not compile; its message has
  // every error, one "file:line: message" per line.
  static absl::StatusOr<std::shared_ptr<const Snapshot>> Compile(
      const v1::Bundle& bundle);

  // Loads (pdp/policy_loader.h) and compiles a policy directory, reporting
  // the errors of both steps together. Returns NotFound if `dir` is not a
  // readable directory, InvalidArgument as Compile() with file names joined
  // to `dir` ("dir/roles.yaml:7: ..."). Sources in the snapshot's bundle stay
  // relative to `dir`.
  static absl::StatusOr<std::shared_ptr<const Snapshot>> CompileDirectory(
      const std::string& dir);
};

}  // namespace pdp

#endif  // PDP_COMPILER_H_
