#include "pdp/testing/compile.h"

#include "pdp/compiler.h"
#include "pdp/diagnostics.h"
#include "pdp/policy_loader.h"

namespace pdp {
namespace testgen {

absl::StatusOr<std::shared_ptr<const Snapshot>> CompileYaml(
    const std::vector<PolicyFile>& files) {
  Diagnostics diags;
  v1::Bundle bundle;
  for (const auto& [name, content] : files) {
    LoadPolicyYaml(name, content, &bundle, &diags);
  }
  if (diags.has_errors()) return diags.ToStatus();
  return Compiler::Compile(bundle);
}

absl::StatusOr<std::shared_ptr<const Snapshot>> CompileYaml(
    absl::string_view yaml) {
  return CompileYaml({{"policy.yaml", yaml}});
}

}  // namespace testgen
}  // namespace pdp
