#ifndef PDP_EVALUATOR_H_
#define PDP_EVALUATOR_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pdp/decision.h"
#include "pdp/request.h"
#include "pdp/snapshot.h"
#include "pdp/user_source.h"

namespace pdp {

// Decides requests against a snapshot, exactly as docs/policy.md describes
// (DESIGN §2). Every function is a pure function of its arguments: it is
// thread-safe, takes no locks and never logs. A non-OK status means the
// request itself is malformed; DENY is a Decision.

// Returns InvalidArgument, naming the field, unless `chain` is a delegated
// chain (user_id and client_id, optional agent_id, no service_id) or a
// service chain (service_id alone; scopes are ignored: a service's come
// from the policy).
absl::Status ValidateChain(const Chain& chain);

// Each function takes an optional `directory`: users it knows replace the
// policy's users of the same id (asserted roles, or roles from an identity
// provider, replace both); a user it deleted (a tombstone) is unknown
// whatever else names its roles.
//
// A chain's agents are agent_id and the delegated_agents it acts for: every
// one must be known, and the chain may call, receive and act unattended
// only as every one of them may. A chain through a client registered
// `interactive: false` is autonomous (IsAutonomous).
//
// Chains completed from tokens (pdp/chain_tokens.h): every token problem is
// a DENY reason of every decision, next to the other failing links; a chain
// whose tokens were rejected has no identities and is DENY (not
// InvalidArgument) with the token's reasons alone. A tool is decided only
// if its server accepts the audience of every token of the chain
// (TOKEN_AUDIENCE_MISMATCH; FilterTools hides the others).

// Whether the chain counts as autonomous (no human in the loop): a service
// chain, a chain through a client registered `interactive: false`, or one
// whose caller says so.
bool IsAutonomous(const Snapshot& snapshot, const Chain& chain);

// Decides whether the chain may call (or see) the tool.
// Returns InvalidArgument for a malformed chain or an empty tool id.
absl::StatusOr<Decision> Check(const Snapshot& snapshot, const Request& request,
                               const UserSource* directory = nullptr);

// Check() for each request, in order. Returns InvalidArgument naming the
// index of the first malformed request.
absl::StatusOr<std::vector<Decision>> BatchCheck(
    const Snapshot& snapshot, const std::vector<Request>& requests,
    const UserSource* directory = nullptr);

// The selected tools the chain may see, in tool id order, each with what a
// call would still need. Exactly the tools for which Check(kSee) is not
// DENY. Unknown tool ids and servers select nothing.
// Returns InvalidArgument for a malformed chain, or unless exactly one of
// server_id and tool_ids is given.
absl::StatusOr<std::vector<VisibleTool>> FilterTools(
    const Snapshot& snapshot, const Chain& chain,
    const ToolSelection& selection, const UserSource* directory = nullptr);

}  // namespace pdp

#endif  // PDP_EVALUATOR_H_
