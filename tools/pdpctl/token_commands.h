#ifndef TOOLS_PDPCTL_TOKEN_COMMANDS_H_
#define TOOLS_PDPCTL_TOKEN_COMMANDS_H_

#include <ostream>
#include <vector>

#include "absl/status/statusor.h"
#include "pdp/request.h"
#include "pdp/snapshot.h"
#include "tools/pdpctl/commands.h"

namespace pdpctl {

// `token inspect`: decodes a token and verifies it against the token
// settings file a server uses. Commands() lists it after check and filter.
std::vector<Command> TokenCommands();

// The flags with which check and filter take identities from tokens:
// --token FILE (an access token), --agent-token FILE, --service-token FILE,
// --token-settings FILE, --client-cert FILE, --dpop-jkt THUMBPRINT.
std::vector<FlagSpec> TokenChainFlags();

// True if any token flag was given.
bool HasTokenFlags(const Args& args);

// Verifies the tokens the flags name against --token-settings as the server
// would now, and returns `chain` completed with what they carry (token
// problems included, as DENY reasons). Prints the problem and returns
// InvalidArgument for a missing --token-settings, unreadable files, bad
// settings, or a link given both as a token and an asserted flag.
absl::StatusOr<pdp::Chain> ChainWithTokens(absl::string_view command,
                                           const Args& args,
                                           const pdp::Snapshot& snapshot,
                                           pdp::Chain chain,
                                           std::ostream& err);

}  // namespace pdpctl

#endif  // TOOLS_PDPCTL_TOKEN_COMMANDS_H_
