#ifndef TOOLS_PDPCTL_POLICY_TEST_READER_H_
#define TOOLS_PDPCTL_POLICY_TEST_READER_H_

// The reader of policy test files: the `pdpctl test` format (*_test.yaml,
// docs/policy.md "Policy tests") and, as an opt-in extension of it, the
// golden table's (tests/golden/acme_cases.yaml). A test file holds check
// cases (`cases`: a chain, a tool, an action and the expected effect,
// optionally reason codes, redactions and step-up) and discovery cases
// (`discovery`: a chain, a selection and the exact visible tool list).
//
// Pure functions over files; thread-safe.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "pdp/request.h"
#include "pdp/user_source.h"

namespace pdpctl {

// What ReadPolicyTestFile accepts beyond the `pdpctl test` format. The
// extensions are for tables that state every expectation exactly; `pdpctl
// test` reads with the defaults and rejects them as unknown keys/values.
struct PolicyTestFormat {
  // With `extended`:
  // - a case may give `error: INVALID_ARGUMENT` instead of `expect` (a
  //   malformed request; its chain is then not validated);
  // - `reasons` items are "link:CODE" (link as LinkName spells it), kept as
  //   a sorted multiset, not bare codes;
  // - a case may list `missing_scopes` (every scope MISSING_SCOPE reasons
  //   name) and `rules` (the ids RULE reasons name);
  // - `expect: STEP_UP` needs `step_up`;
  // - a `visible` item may be a mapping {id, requires_approval, step_up,
  //   redact} instead of a tool id;
  // - lists keep duplicates (sorted, not unique).
  bool extended = false;
};

// One entry of a test file's `cases`.
struct PolicyCheckCase {
  int line = 0;  // Of the entry, 1-based.
  std::string name;
  pdp::Request request;
  std::string expect;  // "ALLOW", "DENY", "STEP_UP", "REQUIRE_APPROVAL"; ""
                       // when `error` is set.
  // Bare codes, sorted, unique; extended: "link:CODE", sorted.
  std::optional<std::vector<std::string>> reasons;
  std::optional<std::vector<std::string>> redact;  // Sorted, unique.
  std::optional<std::string> step_up;              // An AuthStrengthName.
  // Extended format only.
  std::optional<std::string> error;  // A status code name, instead of expect.
  std::optional<std::vector<std::string>> missing_scopes;  // Sorted.
  std::optional<std::vector<std::string>> rules;           // Sorted.
};

// One `visible` item of a discovery case; the annotations are only
// readable in the extended format (else they keep their defaults).
struct PolicyVisibleTool {
  std::string id;
  bool requires_approval = false;
  std::string step_up;              // "" or an AuthStrengthName.
  std::vector<std::string> redact;  // Sorted.
};

// One entry of a test file's `discovery`.
struct PolicyDiscoveryCase {
  int line = 0;
  std::string name;
  pdp::Chain chain;
  // At most one of server_id and tool_ids; neither selects every tool.
  pdp::ToolSelection selection;
  std::vector<std::string> visible;              // The ids, sorted, unique.
  std::vector<PolicyVisibleTool> visible_tools;  // As written, in file order.
};

// The user directory a test file declares (`directory:`), as the server's
// would hold it: users that replace the policy's, and deleted ids
// (tombstones). Thread-compatible; immutable once read.
class TestDirectory final : public pdp::UserSource {
 public:
  void Put(pdp::v1::User user);
  void Delete(const std::string& id);  // Leaves a tombstone.
  bool empty() const { return users_.empty(); }

  pdp::DirectoryEntry Find(absl::string_view user_id) const override;

 private:
  std::map<std::string, std::shared_ptr<const pdp::v1::User>> users_;
};

// A parsed test file.
struct PolicyTestFile {
  std::string path;  // As given.
  TestDirectory directory;
  // The directory the file's checks consult; nullptr when it declares none.
  const pdp::UserSource* users() const {
    return directory.empty() ? nullptr : &directory;
  }
  std::vector<PolicyCheckCase> cases;
  std::vector<PolicyDiscoveryCase> discovery;
};

// Reads one test file strictly: unknown keys, bad values and missing fields
// are errors, so that a typo cannot turn a case into one that trivially
// passes. Returns InvalidArgument listing every problem, one
// "path:line: sentence" per line; NotFound if the file cannot be read.
absl::StatusOr<PolicyTestFile> ReadPolicyTestFile(
    const std::string& path, const PolicyTestFormat& format = {});

}  // namespace pdpctl

#endif  // TOOLS_PDPCTL_POLICY_TEST_READER_H_
