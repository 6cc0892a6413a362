#ifndef PDP_TESTING_COMPILE_H_
#define PDP_TESTING_COMPILE_H_

#include <memory>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "pdp/snapshot.h"

namespace pdp {
namespace testgen {

// A policy file given inline: its name (for errors and sources) and content.
using PolicyFile = std::pair<absl::string_view, absl::string_view>;

// Loads the files as one policy directory would and compiles them. Returns
// InvalidArgument with every "file:line: message" if they do not compile.
absl::StatusOr<std::shared_ptr<const Snapshot>> CompileYaml(
    const std::vector<PolicyFile>& files);

// One file, named "policy.yaml".
absl::StatusOr<std::shared_ptr<const Snapshot>> CompileYaml(
    absl::string_view yaml);

}  // namespace testgen
}  // namespace pdp

#endif  // PDP_TESTING_COMPILE_H_
