#ifndef TOOLS_PDPCTL_TOKEN_COMMANDS_H_
#define TOOLS_PDPCTL_TOKEN_COMMANDS_H_

#include <ostream>
#include <vector>

#include <memory>

#include "absl/status/statusor.h"
#include "pdp/chain_tokens.h"
#include "pdp/token_source.h"
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

// The tokens the flags name and what verifies them as the server would,
// against --token-settings, for pdp::Engine. Returns InvalidArgument for a
// missing --token-settings, unreadable files or bad settings.
struct TokenArgs {
  pdp::ChainTokens tokens;
  std::unique_ptr<pdp::TokenSource> source;
};
absl::StatusOr<TokenArgs> TokensFromArgs(const Args& args);

}  // namespace pdpctl

#endif  // TOOLS_PDPCTL_TOKEN_COMMANDS_H_
