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

}  // namespace pdpctl
