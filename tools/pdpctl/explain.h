#ifndef TOOLS_PDPCTL_EXPLAIN_H_
#define TOOLS_PDPCTL_EXPLAIN_H_

#include <string>
#include <vector>

#include "pdp/explain.h"

namespace pdpctl {

// How `pdpctl check --explain` prints an explanation (pdp/explain.h), offline
// or from a server's PolicyAdmin.Explain: "explain:", then each line
// indented by two spaces per level (a link's line by two, its details by
// four), each ending in "\n". Pure; thread-safe.
std::string RenderExplanation(const std::vector<pdp::ExplainLine>& lines);

}  // namespace pdpctl

#endif  // TOOLS_PDPCTL_EXPLAIN_H_
