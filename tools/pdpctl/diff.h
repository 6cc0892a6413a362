#ifndef TOOLS_PDPCTL_DIFF_H_
#define TOOLS_PDPCTL_DIFF_H_

#include <cstdint>
#include <string>
#include <vector>

#include "pdp/snapshot.h"
#include "tools/pdpctl/commands.h"

namespace pdpctl {

// How one decision changed between two policies.
enum class ChangeKind { kWiden, kNarrow, kOther };

// One line of `pdpctl diff`: the decisions about one tool, for one agent (or
// none) or one service, that changed the same way, over every user and
// client that saw this change.
struct ChangeGroup {
  ChangeKind kind = ChangeKind::kOther;
  std::string tool;
  std::string agent;    // Empty: no agent (or a service chain).
  std::string service;  // Set for a service chain.
  std::vector<std::string> users;    // Sorted; empty for a service chain.
  std::vector<std::string> clients;  // Sorted.
  bool autonomous = false;      // Seen for autonomous chains.
  bool not_autonomous = false;  // Seen for chains with a human in the loop.
  std::string old_decision;     // "DENY", "ALLOW redact salary", ...
  std::string new_decision;
  int64_t decisions = 0;  // Individual (chain, tool) decisions.
  std::string line;       // The printed sentence.
};

struct DiffResult {
  std::vector<ChangeGroup> groups;  // Widening first, then narrowing, other.
  int64_t widen = 0;
  int64_t narrow = 0;
  int64_t other = 0;
  int64_t chains_examined = 0;  // Chains whose tools were compared.
};

// Compares the call decisions of every chain both policies can express: all
// users x clients x agents (and none) x autonomy, plus services, over the
// union of ids, with each client's full scope ceiling as the token scopes and
// password authentication. Only the tools whose decision can differ (per the
// policies' bitsets) are evaluated. Pure; thread-compatible.
DiffResult DiffPolicies(const pdp::Snapshot& old_policy,
                        const pdp::Snapshot& new_policy);

// The `pdpctl diff` command row.
Command DiffCommand();

}  // namespace pdpctl

#endif  // TOOLS_PDPCTL_DIFF_H_
