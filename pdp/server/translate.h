#ifndef PDP_SERVER_TRANSLATE_H_
#define PDP_SERVER_TRANSLATE_H_

#include <vector>

#include "pdp/chain_tokens.h"
#include "pdp/client_request.h"
#include "pdp/decision.h"
#include "pdp/explain.h"
#include "pdp/request.h"
#include "pdp/snapshot.h"
#include "absl/status/status.h"
#include "pdp/server/config.h"
#include "pdp/v1/admin.pb.h"
#include "pdp/v1/authorizer.pb.h"
#include "pdp/v1/directory.pb.h"

// The one place where API messages and engine types meet. Field checks are
// the evaluator's (it names the fields); these only copy, except the bounds
// below, checked on every request before it is translated.
namespace pdp::server {

// The bounds on what a caller sends: every id (user, client, agent, service,
// tool and server ids, asserted roles, scopes, amr values, directory user ids
// and roles, attribute names) at most limits.max_id_bytes bytes, every list
// of them at most limits.max_list_entries entries (tool_ids, checks and
// users have their own limits, enforced by the services).
// Returns InvalidArgument naming the field ("checks[3].chain.user_id") and
// its size in bytes or entries, never quoting the value.
absl::Status CheckBounds(const v1::CheckRequest& request,
                         const ServerConfig::Limits& limits);
absl::Status CheckBounds(const v1::BatchCheckRequest& request,
                         const ServerConfig::Limits& limits);
absl::Status CheckBounds(const v1::FilterToolsRequest& request,
                         const ServerConfig::Limits& limits);
absl::Status CheckBounds(const v1::CheckClientRequestRequest& request,
                         const ServerConfig::Limits& limits);
absl::Status CheckBounds(const v1::ExplainRequest& request,
                         const ServerConfig::Limits& limits);
absl::Status CheckBounds(const v1::UpsertUsersRequest& request,
                         const ServerConfig::Limits& limits);
absl::Status CheckBounds(const v1::DeleteUsersRequest& request,
                         const ServerConfig::Limits& limits);
absl::Status CheckBounds(const v1::GetUserRequest& request,
                         const ServerConfig::Limits& limits);

// `may_assert_roles`: whether the caller is trusted to assert user roles;
// when not, asserted roles are dropped and the policy decides.
Chain FromProto(const v1::IdentityChain& chain, bool may_assert_roles);

// The tokens of a chain and their binding; empty() when it carries none.
ChainTokens TokensFromProto(const v1::IdentityChain& chain);

// ACTION_UNSPECIFIED is decided as a call, the stricter action.
Request FromProto(const v1::CheckRequest& request, bool may_assert_roles);

ToolSelection FromProto(const v1::FilterToolsRequest& request);

void ToProto(const Snapshot& snapshot, const Decision& decision,
             v1::Decision* out);

void ToProto(const Snapshot& snapshot, const std::vector<VisibleTool>& tools,
             v1::FilterToolsResponse* out);

ClientRequest FromProto(const v1::CheckClientRequestRequest& request);

// Also sets the response's policy_version to the snapshot's.
void ToProto(const Snapshot& snapshot, const ClientRequestDecision& decision,
             v1::CheckClientRequestResponse* out);

// PolicyAdmin.Explain: appends the lines to `out`.
void ToProto(const std::vector<ExplainLine>& lines, v1::ExplainResponse* out);

}  // namespace pdp::server

#endif  // PDP_SERVER_TRANSLATE_H_
