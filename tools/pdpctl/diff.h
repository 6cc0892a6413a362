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
// client that saw this change. Users and clients are indices into
// DiffResult::user_ids and DiffResult::client_ids (a wholesale change of a
// large policy has tens of millions of (group, user) pairs).
struct ChangeGroup {
  ChangeKind kind = ChangeKind::kOther;
  std::string tool;
  std::string agent;         // Empty: no agent (or a service chain).
  std::string service;       // Set for a service chain.
  std::vector<int> users;    // Ascending, so in id order; empty for a service.
  std::vector<int> clients;  // Ascending, so in id order.
  bool autonomous = false;   // Seen for autonomous chains.
  bool not_autonomous = false;  // Seen for chains with a human in the loop.
  std::string old_decision;     // "DENY", "ALLOW redact salary", ...
  std::string new_decision;
  int64_t decisions = 0;  // Individual (chain, tool) decisions.
  std::string line;       // The printed sentence.
};

struct DiffResult {
  std::vector<ChangeGroup> groups;    // Widening first, then narrowing, other.
  std::vector<std::string> user_ids;  // Of either policy, sorted.
  std::vector<std::string> client_ids;  // Of either policy, sorted.
  int64_t widen = 0;
  int64_t narrow = 0;
  int64_t other = 0;
  // Chains whose tools were compared; users who decide alike count once.
  int64_t chains_examined = 0;
};

// Compares the call decisions of every chain both policies can express: all
// users x clients x agents (and none) x autonomy, plus services, over the
// union of ids (tools matched by id), with each client's full scope ceiling
// as the token scopes and password authentication. Exactly what pdp::Check
// decides on each side, computed as per-link tool bitsets: users with the
// same roles on both sides are decided once, and only the tools where some
// link differs between the policies are compared. Pure; thread-compatible.
DiffResult DiffPolicies(const pdp::Snapshot& old_policy,
                        const pdp::Snapshot& new_policy);

// The `pdpctl diff` command row.
Command DiffCommand();

}  // namespace pdpctl

#endif  // TOOLS_PDPCTL_DIFF_H_
