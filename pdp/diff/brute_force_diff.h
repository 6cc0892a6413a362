#ifndef PDP_DIFF_BRUTE_FORCE_DIFF_H_
#define PDP_DIFF_BRUTE_FORCE_DIFF_H_

#include <cstdint>
#include <set>
#include <string>
#include <tuple>

#include "pdp/snapshot.h"

namespace pdp::testing {

// Every changed decision of a brute-force diff, keyed as a DecisionChange
// reports it: (tool, client id or "service:<id>", old decision, new
// decision), decisions written as DecisionChange writes them.
using ChangeKey = std::tuple<std::string, std::string, std::string, std::string>;

struct BruteForceDiff {
  // Some request is decided more permissively by the new policy.
  bool widens = false;
  std::set<ChangeKey> changes;
  int64_t checks = 0;  // pdp::Check calls per side.
};

// Calls pdp::Check on both policies for every tool of either and every
// chain over the ids of either: each subset of the union of role ids
// (as a roles claim, so the empty set too) under an id no deny rule names
// and under every id a deny rule names; each user of either policy's
// `users:`; each client; no agent and every set of up to `max_agents`
// distinct agents; each subset of the union of scope names; each
// authentication strength; autonomous or not; and each service, with its
// registered scopes and with a token of each scope subset. Exponential in
// the number of roles, scopes and agents: for small policies only.
BruteForceDiff DiffByBruteForce(const Snapshot& old_policy,
                                const Snapshot& new_policy, int max_agents);

}  // namespace pdp::testing

#endif  // PDP_DIFF_BRUTE_FORCE_DIFF_H_
