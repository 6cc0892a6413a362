#ifndef TOOLS_PDPCTL_USER_COMMANDS_H_
#define TOOLS_PDPCTL_USER_COMMANDS_H_

#include <vector>

#include "tools/pdpctl/commands.h"

namespace pdpctl {

// `users import | get | delete`: the directory of a PDP server (Directory
// service).
std::vector<Command> UserCommands();

}  // namespace pdpctl

#endif  // TOOLS_PDPCTL_USER_COMMANDS_H_
