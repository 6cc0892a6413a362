#ifndef PDP_API_TRANSLATE_H_
#define PDP_API_TRANSLATE_H_

#include <vector>

#include "pdp/chain_tokens.h"
#include "pdp/client_request.h"
#include "pdp/decision.h"
#include "pdp/explain.h"
#include "pdp/request.h"
#include "pdp/snapshot.h"
#include "pdp/v1/admin.pb.h"
#include "pdp/v1/authorizer.pb.h"

// The one place where API messages (pdp.v1) and engine types meet, both
// directions: the server translates requests in and decisions out; clients
// (pdpctl) translate requests out and decisions back. Field checks are the
// evaluator's (it names the fields); these only copy. The bounds on what a
// caller sends are the server's (pdp/server/bounds.h).
// Pure functions; thread-safe.
namespace pdp::api {

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

// The other direction, for clients.

// The asserted ids of `request` (never tokens); kSee is ACTION_SEE, kCall
// ACTION_CALL.
v1::CheckRequest ToProto(const Request& request);

// Effect, reasons and step-up of `decision`. The obligation's data classes
// stay names in the message (`redact()`): they are interned only in the
// server's snapshot.
Decision FromProto(const v1::Decision& decision);

std::vector<ExplainLine> FromProto(const v1::ExplainResponse& response);

}  // namespace pdp::api

#endif  // PDP_API_TRANSLATE_H_
