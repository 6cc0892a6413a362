#ifndef TOOLS_PDPCTL_RENDER_H_
#define TOOLS_PDPCTL_RENDER_H_

#include <string>
#include <vector>

#include "pdp/decision.h"
#include "pdp/request.h"
#include "pdp/snapshot.h"

namespace pdpctl {

// How pdpctl shows decisions: as JSON for scripts (the shapes below are a
// stable interface) and as a short text for people. Pure functions.

// One JSON object, pretty-printed, no trailing newline:
//   {"effect": "ALLOW|DENY|REQUIRE_APPROVAL|STEP_UP",
//    "reasons": [{"link": "agent", "code": "AGENT_NOT_PERMITTED",
//                 "message": "...",
//                 "missing_scopes": [...],   // MISSING_SCOPE only
//                 "rule": "id"}],            // RULE only
//    "redact": ["salary"],
//    "step_up": "mfa",                      // STEP_UP only
//    "policy_version": "..."}
std::string DecisionJson(const pdp::Snapshot& snapshot,
                         const pdp::Decision& decision);

// The effect, the tool and the chain on the first line, then one line per
// reason naming the link that decided ("  agent sales-assistant:
// AGENT_NOT_PERMITTED — ..."), the redactions, and the policy version. Ends
// with a newline.
std::string DecisionText(const pdp::Snapshot& snapshot,
                         const pdp::Request& request,
                         const pdp::Decision& decision);

// The same for a decision a server made: `redact` names the data classes
// (decision.redact is ignored) and `policy_version` is the server's.
std::string DecisionText(const pdp::Request& request,
                         const pdp::Decision& decision,
                         const std::vector<std::string>& redact,
                         const std::string& policy_version);

// What a filter selected, for the text rendering.
struct FilterSelection {
  std::string phrase;  // "tools on server crm", "listed tools", ...
  int selected = 0;    // Selected tools that are in the policy.
  // Listed tool ids, or the server, that the policy does not have.
  std::vector<std::string> not_in_policy;
};

// One JSON object, pretty-printed, no trailing newline:
//   {"tools": [{"id": "crm.get_account", "requires_approval": false,
//               "step_up": "mfa" | null, "redact": ["salary"]}],
//    "policy_version": "..."}
std::string VisibleToolsJson(const pdp::Snapshot& snapshot,
                             const std::vector<pdp::VisibleTool>& tools);

// "N of M <phrase> visible to <chain>", then one line per visible tool with
// what a call would still need; when nothing is visible, why (unknown links).
// Ends with a newline.
std::string VisibleToolsText(const pdp::Snapshot& snapshot,
                             const pdp::Chain& chain,
                             const FilterSelection& selection,
                             const std::vector<pdp::VisibleTool>& tools);

// "user alice via client claude-desktop with agent sales-assistant" or
// "service import-worker", with asserted roles and autonomy when given.
std::string DescribeChain(const pdp::Chain& chain);

}  // namespace pdpctl

#endif  // TOOLS_PDPCTL_RENDER_H_
