#ifndef TOOLS_PDPCTL_PDPCTL_TESTING_H_
#define TOOLS_PDPCTL_PDPCTL_TESTING_H_

// For pdpctl's tests: runs the command line in-process, as main does.

#include <string>
#include <vector>

namespace pdpctl {

// What one run printed and returned.
struct PdpctlResult {
  int code = -1;  // The exit code (kExitOk, ...).
  std::string out;
  std::string err;
};

// Runs pdpctl::Run on `argv` (without the program name), capturing both
// streams. Thread-compatible, like Run.
PdpctlResult RunPdpctl(const std::vector<std::string>& argv);

}  // namespace pdpctl

#endif  // TOOLS_PDPCTL_PDPCTL_TESTING_H_
