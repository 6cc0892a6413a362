#ifndef TOOLS_PDPCTL_DIFF_H_
#define TOOLS_PDPCTL_DIFF_H_

#include <ostream>

#include "pdp/diff/decision_diff.h"
#include "tools/pdpctl/commands.h"

namespace pdpctl {

// Prints `diff` as `pdpctl diff` does: the changes under "widens:",
// "narrows:" and "widens and narrows:", then a summary line.
void WriteDiffText(const pdp::DecisionDiff& diff, std::ostream& out);

// Prints `diff` as `pdpctl diff --json` does: one JSON object.
void WriteDiffJson(const pdp::DecisionDiff& diff, std::ostream& out);

// The `pdpctl diff` command row: flags, output and exit codes; the diff
// itself is pdp::DiffPolicies (pdp/diff/decision_diff.h).
Command DiffCommand();

}  // namespace pdpctl

#endif  // TOOLS_PDPCTL_DIFF_H_
