#ifndef TOOLS_PDPCTL_BUNDLE_COMMANDS_H_
#define TOOLS_PDPCTL_BUNDLE_COMMANDS_H_

#include <vector>

#include "tools/pdpctl/commands.h"

namespace pdpctl {

// The commands that make and sign bundles (keygen, bundle; offline) and the
// ones that manage the bundles of PDP servers over PolicyAdmin and
// grpc.health.v1 (push, status, health, bundles, rollback).
std::vector<Command> BundleCommands();

}  // namespace pdpctl

#endif  // TOOLS_PDPCTL_BUNDLE_COMMANDS_H_
