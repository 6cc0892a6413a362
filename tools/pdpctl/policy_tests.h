#ifndef TOOLS_PDPCTL_POLICY_TESTS_H_
#define TOOLS_PDPCTL_POLICY_TESTS_H_

// `pdpctl test DIR [--junit FILE]`: policy tests. A policy directory may hold
// *_test.yaml (or *_test.yml) files, which the policy loader skips; each
// names check cases (a chain, a tool, an action and the expected effect,
// optionally reason codes, redactions and step-up) and discovery cases (a
// chain and the exact visible tool list). docs/policy.md ("Policy tests")
// describes the format.

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "pdp/request.h"
#include "pdp/snapshot.h"
#include "tools/pdpctl/commands.h"

namespace pdpctl {

// One entry of a test file's `cases`.
struct PolicyCheckCase {
  int line = 0;  // Of the entry, 1-based.
  std::string name;
  pdp::Request request;
  std::string expect;  // "ALLOW", "DENY", "STEP_UP" or "REQUIRE_APPROVAL".
  std::optional<std::vector<std::string>> reasons;  // Codes, sorted, unique.
  std::optional<std::vector<std::string>> redact;   // Sorted, unique.
  std::optional<std::string> step_up;               // An AuthStrengthName.
};

// One entry of a test file's `discovery`.
struct PolicyDiscoveryCase {
  int line = 0;
  std::string name;
  pdp::Chain chain;
  // At most one of server_id and tool_ids; neither selects every tool.
  pdp::ToolSelection selection;
  std::vector<std::string> visible;  // Sorted, unique.
};

// A parsed test file.
struct PolicyTestFile {
  std::string path;  // As found: DIR/relative/path_test.yaml.
  std::vector<PolicyCheckCase> cases;
  std::vector<PolicyDiscoveryCase> discovery;
};

// Reads one test file strictly: unknown keys, bad values and missing fields
// are errors. Returns InvalidArgument listing every problem, one
// "path:line: sentence" per line; NotFound if the file cannot be read.
absl::StatusOr<PolicyTestFile> ReadPolicyTestFile(const std::string& path);

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
