#include "tests/golden/cases.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tools/pdpctl/policy_test_reader.h"

namespace pdp {
namespace golden {

bool AssertedOnly(const Table& table, const Chain& chain) {
  if (!chain.delegated_agents.empty() || chain.roles_from_idp ||
      chain.service_scopes_from_token) {
    return false;
  }
  if (table.users == nullptr) return true;
  const DirectoryEntry entry = table.users->Find(chain.user_id);
  return entry.user == nullptr && !entry.deleted;
}

absl::StatusOr<Table> ReadTable(const std::string& path) {
  absl::StatusOr<pdpctl::PolicyTestFile> file = pdpctl::ReadPolicyTestFile(
      path, pdpctl::PolicyTestFormat{/*extended=*/true});
  if (!file.ok()) return file.status();
  // The reader keeps the table's lists sorted; absent ones mean none.
  const std::vector<std::string> none;
  Table table;
  if (file->users() != nullptr) {
    table.users =
        std::make_shared<pdpctl::TestDirectory>(std::move(file->directory));
  }
  for (pdpctl::PolicyCheckCase& in : file->cases) {
    CheckCase c;
    c.line = in.line;
    c.name = std::move(in.name);
    c.request = std::move(in.request);
    c.error = std::move(in.error);
    c.effect = std::move(in.expect);
    c.reasons = in.reasons.value_or(none);
    c.missing_scopes = in.missing_scopes.value_or(none);
    c.rules = in.rules.value_or(none);
    c.redact = in.redact.value_or(none);
    c.step_up = in.step_up.value_or("");
    table.checks.push_back(std::move(c));
  }
  for (pdpctl::PolicyDiscoveryCase& in : file->discovery) {
    DiscoveryCase c;
    c.line = in.line;
    c.name = std::move(in.name);
    c.chain = std::move(in.chain);
    c.selection = std::move(in.selection);
    for (pdpctl::PolicyVisibleTool& tool : in.visible_tools) {
      c.visible.push_back({std::move(tool.id), tool.requires_approval,
                           std::move(tool.step_up), std::move(tool.redact)});
    }
    table.discovery.push_back(std::move(c));
  }
  return table;
}

}  // namespace golden
}  // namespace pdp
