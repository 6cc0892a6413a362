#ifndef TESTS_GOLDEN_CASES_H_
#define TESTS_GOLDEN_CASES_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "pdp/request.h"
#include "pdp/user_source.h"

namespace pdp {
namespace golden {

// The Acme example policy and its golden table, relative to a test's working
// directory (the workspace root in runfiles). Both are runfiles of the
// :cases library, so a test that depends on it has them.
inline constexpr char kPolicyDir[] = "examples/policies/acme";
inline constexpr char kCasesFile[] = "tests/golden/acme_cases.yaml";

// The table is a policy test file in pdpctl's format with its extensions
// (tools/pdpctl/policy_test_reader.h, PolicyTestFormat::extended), read by
// that reader; these are its cases with every expectation made exact (an
// absent list means none). The top of acme_cases.yaml describes the format.

// One `cases` entry of the table.
struct CheckCase {
  int line = 0;  // Of the entry in the table file.
  std::string name;
  Request request;                   // asserted_roles hold the table's `roles`.
  std::optional<std::string> error;  // A status code name, instead of effect.
  std::string effect;                // "ALLOW", "DENY", ...
  std::vector<std::string> reasons;  // "link:CODE", sorted.
  std::vector<std::string> missing_scopes;  // Sorted.
  std::vector<std::string> rules;           // Sorted.
  std::vector<std::string> redact;          // Sorted.
  std::string step_up;                      // "" or an AuthStrengthName.
};

// A tool a discovery case expects to be visible.
struct ExpectedTool {
  std::string id;
  bool requires_approval = false;
  std::string step_up;              // "" or an AuthStrengthName.
  std::vector<std::string> redact;  // Sorted.
};

inline bool operator==(const ExpectedTool& a, const ExpectedTool& b) {
  return a.id == b.id && a.requires_approval == b.requires_approval &&
         a.step_up == b.step_up && a.redact == b.redact;
}

// One `discovery` entry.
struct DiscoveryCase {
  int line = 0;
  std::string name;
  Chain chain;
  ToolSelection selection;
  std::vector<ExpectedTool> visible;  // In tool id order.
};

// The whole table, in file order.
struct Table {
  std::vector<CheckCase> checks;
  std::vector<DiscoveryCase> discovery;
  // The table's `directory:` (users and tombstones) every case consults;
  // null when it declares none.
  std::shared_ptr<const UserSource> users;
};

// Whether `chain` is the API's asserted ids alone: nothing of it comes from
// tokens (delegated agents, the identity provider's roles, a service
// token's scopes) and its user is not in the table's directory. Only such
// chains can be sent to a server as they are.
bool AssertedOnly(const Table& table, const Chain& chain);

// Reads a golden table strictly (pdpctl::ReadPolicyTestFile, extended): an
// unknown key or a misspelt word is an error, so that a typo cannot turn a
// case into one that trivially passes. Returns InvalidArgument listing every
// problem as "path:line: sentence", NotFound if the file cannot be read.
absl::StatusOr<Table> ReadTable(const std::string& path);

}  // namespace golden
}  // namespace pdp

#endif  // TESTS_GOLDEN_CASES_H_
