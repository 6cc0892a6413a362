#ifndef PDP_SERVER_BOUNDS_H_
#define PDP_SERVER_BOUNDS_H_

#include "absl/status/status.h"
#include "pdp/server/config.h"
#include "pdp/v1/admin.pb.h"
#include "pdp/v1/authorizer.pb.h"
#include "pdp/v1/directory.pb.h"

// Checked on every request before it is translated (pdp/api/translate.h).
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

}  // namespace pdp::server

#endif  // PDP_SERVER_BOUNDS_H_
