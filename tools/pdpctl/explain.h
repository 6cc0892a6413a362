#ifndef TOOLS_PDPCTL_EXPLAIN_H_
#define TOOLS_PDPCTL_EXPLAIN_H_

#include <string>

#include "pdp/decision.h"
#include "pdp/request.h"
#include "pdp/snapshot.h"

namespace pdpctl {

// `pdpctl check --explain`: for each link of the request's chain, what it
// grants for the tool, with the policy's file:line (files joined to
// `policy_dir`): the tool's requirements; which of the user's roles grants it,
// through which inheritance path and glob; the agent's matching glob; the
// client's trust and scope ceiling, and the token's scopes, against the
// tool's; the deny rules that matched; autonomy and authentication. Several
// lines, each ending in "\n", the first "explain:". `decision` is Check()'s
// answer to `request`. Pure; thread-safe.
std::string ExplainText(const pdp::Snapshot& snapshot,
                        const std::string& policy_dir,
                        const pdp::Request& request,
                        const pdp::Decision& decision);

}  // namespace pdpctl

#endif  // TOOLS_PDPCTL_EXPLAIN_H_
