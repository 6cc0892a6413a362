#include "tools/pdpctl/explain.h"

#include "absl/strings/str_cat.h"

namespace pdpctl {

std::string RenderExplanation(const std::vector<pdp::ExplainLine>& lines) {
  std::string out = "explain:\n";
  for (const pdp::ExplainLine& line : lines) {
    absl::StrAppend(&out, std::string(2 + 2 * line.depth, ' '), line.text,
                    "\n");
  }
  return out;
}

std::string ExplainText(const pdp::Snapshot& snapshot,
                        const std::string& policy_dir,
                        const pdp::Request& request,
                        const pdp::Decision& decision) {
  pdp::ExplainOptions options;
  options.source_dir = policy_dir;
  return RenderExplanation(pdp::Explain(snapshot, request, decision, options));
}

}  // namespace pdpctl
