#ifndef PDP_POLICY_LOADER_H_
#define PDP_POLICY_LOADER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "pdp/diagnostics.h"
#include "pdp/v1/policy.pb.h"

namespace pdp {

// Reads the YAML policy language (docs/policy.md) into a v1::Bundle, with
// each element's file and line in its `source`. Checks the shape of the
// files: malformed YAML, unknown or duplicate keys, wrong types, bad enum
// values, missing ids. Cross-references (unknown roles, globs, duplicate ids)
// are the compiler's. Loading does not stop at the first error: every error
// goes to `diagnostics` and whatever could be read is still returned, so that
// the compiler can report its errors in the same run.

// Reads every *.yaml and *.yml file under `dir`, recursively, in path order,
// skipping hidden entries and policy tests (*_test.yaml, *_test.yml).
// Returns NotFound if `dir` is not a readable directory.
absl::StatusOr<v1::Bundle> LoadPolicyDirectory(const std::string& dir,
                                               Diagnostics* diagnostics);

// Adds the elements of one file's `content` to `bundle`; `file` names it in
// errors and sources.
void LoadPolicyYaml(absl::string_view file, absl::string_view content,
                    v1::Bundle* bundle, Diagnostics* diagnostics);

}  // namespace pdp

#endif  // PDP_POLICY_LOADER_H_
