#ifndef TOOLS_PDPCTL_ADMIN_COMMANDS_H_
#define TOOLS_PDPCTL_ADMIN_COMMANDS_H_

#include <vector>

#include "tools/pdpctl/commands.h"

namespace pdpctl {

// The commands that make and sign bundles (keygen, bundle; offline) and the
// ones that talk gRPC to a PDP server's PolicyAdmin and Directory services
// (push, status, bundles, rollback, users). Commands() lists them after the
// offline policy commands.
std::vector<Command> AdminCommands();

}  // namespace pdpctl

#endif  // TOOLS_PDPCTL_ADMIN_COMMANDS_H_
