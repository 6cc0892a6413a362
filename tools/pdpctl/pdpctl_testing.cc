#include "tools/pdpctl/pdpctl_testing.h"

#include <sstream>
#include <string>
#include <vector>

#include "tools/pdpctl/commands.h"

namespace pdpctl {

PdpctlResult RunPdpctl(const std::vector<std::string>& argv) {
  std::ostringstream out, err;
  PdpctlResult result;
  result.code = Run(argv, out, err);
  result.out = out.str();
  result.err = err.str();
  return result;
}

}  // namespace pdpctl
