#ifndef TOOLS_PDPCTL_POLICY_TESTS_H_
#define TOOLS_PDPCTL_POLICY_TESTS_H_

// `pdpctl test DIR [--junit FILE]`: policy tests. A policy directory may hold
// *_test.yaml (or *_test.yml) files, which the policy loader skips; each
// names check cases (a chain, a tool, an action and the expected effect,
// optionally reason codes, redactions and step-up) and discovery cases (a
// chain and the exact visible tool list). docs/policy.md ("Policy tests")
// describes the format; policy_test_reader.h reads it.

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "pdp/request.h"
#include "pdp/snapshot.h"
#include "tools/pdpctl/commands.h"
#include "tools/pdpctl/policy_test_reader.h"

namespace pdpctl {

// Every *_test.yaml and *_test.yml file under `dir`, recursively, skipping
// hidden entries, sorted. NotFound if `dir` is not a readable directory.
absl::StatusOr<std::vector<std::string>> FindPolicyTestFiles(
    const std::string& dir);

// The outcome of one case.
struct PolicyTestResult {
  std::string file;
  int line = 0;
  std::string name;
  bool passed = false;
  std::string failure;  // When !passed: expected vs decided, several lines.
};

// Runs every case of `files` against `snapshot`, in file order. Pure;
// thread-safe for a const snapshot.
std::vector<PolicyTestResult> RunPolicyTests(
    const pdp::Snapshot& snapshot, const std::vector<PolicyTestFile>& files);

// JUnit XML for `results`: one <testsuite> per file (in order of first
// appearance), one <testcase classname=FILE name=CASE> per result, with a
// <failure message=...> holding the failure text. Everything XML-escaped.
std::string PolicyTestsJunitXml(const std::vector<PolicyTestResult>& results);

// The `test` command's row for Commands().
Command PolicyTestCommand();

}  // namespace pdpctl

#endif  // TOOLS_PDPCTL_POLICY_TESTS_H_
