#ifndef TOOLS_PDPCTL_POLICY_COMMANDS_H_
#define TOOLS_PDPCTL_POLICY_COMMANDS_H_

#include <vector>

#include "tools/pdpctl/commands.h"

namespace pdpctl {

// The commands over a policy directory that decide as a server would,
// through pdp::Engine: validate, check (and check --explain, offline or
// from a server's PolicyAdmin.Explain), filter, client-request.
std::vector<Command> PolicyCommands();

}  // namespace pdpctl

#endif  // TOOLS_PDPCTL_POLICY_COMMANDS_H_
