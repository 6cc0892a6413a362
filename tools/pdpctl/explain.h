#ifndef TOOLS_PDPCTL_EXPLAIN_H_
#define TOOLS_PDPCTL_EXPLAIN_H_

#include <string>
#include <vector>

#include "pdp/decision.h"
#include "pdp/explain.h"
#include "pdp/request.h"
#include "pdp/snapshot.h"

namespace pdpctl {

// How `pdpctl check --explain` prints an explanation (pdp/explain.h), offline
// or from a server's PolicyAdmin.Explain: "explain:", then each line
// indented by two spaces per level (a link's line by two, its details by
// four), each ending in "\n". Pure; thread-safe.
std::string RenderExplanation(const std::vector<pdp::ExplainLine>& lines);

// Offline: explains `decision` (Check()'s answer to `request`) against the
// policy directory `policy_dir` compiled into `snapshot`, with files named
// under `policy_dir`, and renders it. Pure; thread-safe.
std::string ExplainText(const pdp::Snapshot& snapshot,
                        const std::string& policy_dir,
                        const pdp::Request& request,
                        const pdp::Decision& decision);

}  // namespace pdpctl

#endif  // TOOLS_PDPCTL_EXPLAIN_H_
