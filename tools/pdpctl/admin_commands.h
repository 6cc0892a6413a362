#ifndef TOOLS_PDPCTL_ADMIN_COMMANDS_H_
#define TOOLS_PDPCTL_ADMIN_COMMANDS_H_

#include <ostream>
#include <vector>

#include "pdp/request.h"
#include "tools/pdpctl/commands.h"

namespace pdpctl {

// The commands that make and sign bundles (keygen, bundle; offline) and the
// ones that talk gRPC to a PDP server's PolicyAdmin and Directory services
// (push, status, bundles, rollback, users). Commands() lists them after the
// offline policy commands.
std::vector<Command> AdminCommands();

// The flags `check --explain --server` adds: the server and TLS flags of
// the single-server admin commands.
std::vector<FlagSpec> RemoteExplainFlags();

// `check --explain --server ADDR TLS`: asks the server's
// PolicyAdmin.Explain (permission `admin`) about `request` and prints what
// the offline check prints: the decision, then the explanation, with files
// named under --policy DIR when given. Returns the exit code.
int RunRemoteExplain(const Args& args, const pdp::Request& request,
                     std::ostream& out, std::ostream& err);

}  // namespace pdpctl

#endif  // TOOLS_PDPCTL_ADMIN_COMMANDS_H_
