#include "pdp/server/authorizer_service.h"

#include <chrono>
#include <cstdio>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "pdp/client_request.h"
#include "pdp/evaluator.h"
#include "pdp/names.h"
#include "pdp/server/serve_unary.h"
#include "pdp/server/status.h"
#include "pdp/server/translate.h"

namespace pdp::server {
namespace {

std::string RandomPrefix() {
  std::random_device random;
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%08x%08x", random(), random());
  return hex;
}

grpc::Status NoPolicy(const ActivePolicy& policy) {
  std::string reason = policy.UnavailableReason();
  return grpc::Status(
      grpc::StatusCode::UNAVAILABLE,
      reason.empty() ? "no policy is active on this server; it decides "
                       "nothing until one is"
                     : absl::StrCat(reason,
                                    "; this server decides nothing until a "
                                    "push or an Activate repairs it"));
}

bool PastDeadline(const grpc::CallbackServerContext& context) {
  return context.deadline() < std::chrono::system_clock::now();
}

grpc::Status DeadlineExceeded() {
  return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                      "the deadline passed before the decision was made");
}

int64_t MicrosSince(absl::Time start) {
  return absl::ToInt64Microseconds(absl::Now() - start);
}

// A log record of the chain and tool of a request; the decision fills the rest.
DecisionRecord RecordOf(const Snapshot& snapshot, const Chain& chain,
                        absl::string_view caller, absl::Time start) {
  DecisionRecord record;
  record.time = start;
  record.caller = std::string(caller);
  record.user_id = chain.user_id;
  record.client_id = chain.client_id;
  record.agent_id = chain.agent_id;
  record.delegated_agents = chain.delegated_agents;
  record.service_id = chain.service_id;
  record.autonomous = IsAutonomous(snapshot, chain);
  return record;
}

DecisionRecord CheckRecord(const Snapshot& snapshot, const Request& request,
                           const v1::Decision& decision,
                           absl::string_view caller, absl::Time start) {
  DecisionRecord record = RecordOf(snapshot, request.chain, caller, start);
  record.decision_id = decision.decision_id();
  record.tool = request.tool_id;
  record.action = request.action == Action::kSee ? "see" : "call";
  record.effect = std::string(EffectName(decision.effect()));
  for (const v1::Reason& reason : decision.reasons()) {
    record.reasons.push_back(
        {std::string(LinkName(reason.link())),
         std::string(ReasonCodeName(reason.code())), reason.rule_id(),
         {reason.missing_scopes().begin(), reason.missing_scopes().end()}});
  }
  record.redact.assign(decision.redact().begin(), decision.redact().end());
  record.policy_version = decision.policy_version();
  return record;
}

}  // namespace

AuthorizerService::AuthorizerService(const ActivePolicy& policy,
                                     const CallerAuth& auth,
                                     const ServerConfig::Limits& limits,
                                     DecisionLog* log,
                                     const UserSource* directory,
                                     const TokenTrust& tokens)
    : policy_(policy),
      auth_(auth),
      limits_(limits),
      log_(log),
      directory_(directory),
      tokens_(tokens),
      id_prefix_(RandomPrefix()) {}

std::string AuthorizerService::NextDecisionId() {
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx",
                static_cast<unsigned long long>(
                    next_id_.fetch_add(1, std::memory_order_relaxed)));
  return absl::StrCat(id_prefix_, "-", hex);
}

absl::StatusOr<Chain> AuthorizerService::WithTokens(
    const Snapshot& snapshot, const v1::IdentityChain& proto,
    Chain chain) const {
  return tokens_.Apply(snapshot, TokensFromProto(proto), std::move(chain),
                       absl::Now());
}

grpc::ServerUnaryReactor* AuthorizerService::Check(
    grpc::CallbackServerContext* context, const v1::CheckRequest* request,
    v1::CheckResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  FinishUnary(reactor, DoCheck(*context, *request, *response));
  return reactor;
}

grpc::ServerUnaryReactor* AuthorizerService::BatchCheck(
    grpc::CallbackServerContext* context, const v1::BatchCheckRequest* request,
    v1::BatchCheckResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  FinishUnary(reactor, DoBatchCheck(*context, *request, *response));
  return reactor;
}

grpc::ServerUnaryReactor* AuthorizerService::FilterTools(
    grpc::CallbackServerContext* context,
    const v1::FilterToolsRequest* request, v1::FilterToolsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  FinishUnary(reactor, DoFilterTools(*context, *request, *response));
  return reactor;
}

grpc::ServerUnaryReactor* AuthorizerService::CheckClientRequest(
    grpc::CallbackServerContext* context,
    const v1::CheckClientRequestRequest* request,
    v1::CheckClientRequestResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  FinishUnary(reactor, DoCheckClientRequest(*context, *request, *response));
  return reactor;
}

grpc::Status AuthorizerService::DoCheck(grpc::CallbackServerContext& context,
                                        const v1::CheckRequest& request,
                                        v1::CheckResponse& response) {
  const absl::Time start = absl::Now();
  absl::StatusOr<CallerAuth::Caller> caller =
      auth_.Authorize(context, Permission::kCheck);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  std::shared_ptr<const Snapshot> snapshot = policy_.Get();
  if (snapshot == nullptr) return NoPolicy(policy_);
  if (PastDeadline(context)) return DeadlineExceeded();

  Request req = FromProto(request, caller->Has(Permission::kAssertRoles));
  absl::StatusOr<Chain> chain =
      WithTokens(*snapshot, request.chain(), std::move(req.chain));
  if (!chain.ok()) return ToGrpcStatus(chain.status());
  req.chain = *std::move(chain);
  absl::StatusOr<Decision> decision = pdp::Check(*snapshot, req, directory_);
  if (!decision.ok()) return ToGrpcStatus(decision.status());
  v1::Decision* out = response.mutable_decision();
  ToProto(*snapshot, *decision, out);
  out->set_decision_id(NextDecisionId());
  if (log_ != nullptr) {
    DecisionRecord record = CheckRecord(*snapshot, req, *out, caller->identity, start);
    record.latency_us = MicrosSince(start);
    log_->Append(std::move(record));
  }
  return grpc::Status::OK;
}

grpc::Status AuthorizerService::DoBatchCheck(
    grpc::CallbackServerContext& context, const v1::BatchCheckRequest& request,
    v1::BatchCheckResponse& response) {
  const absl::Time start = absl::Now();
  absl::StatusOr<CallerAuth::Caller> caller =
      auth_.Authorize(context, Permission::kCheck);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (request.checks_size() > limits_.max_batch_checks) {
    return grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("checks has ", request.checks_size(),
                     " entries; at most ", limits_.max_batch_checks,
                     " (limits.max_batch_checks) are allowed in one call"));
  }
  std::shared_ptr<const Snapshot> snapshot = policy_.Get();
  if (snapshot == nullptr) return NoPolicy(policy_);

  const bool may_assert = caller->Has(Permission::kAssertRoles);
  std::vector<Request> requests;
  requests.reserve(request.checks_size());
  for (int i = 0; i < request.checks_size(); ++i) {
    const v1::CheckRequest& check = request.checks(i);
    Request req = FromProto(check, may_assert);
    absl::StatusOr<Chain> chain =
        WithTokens(*snapshot, check.chain(), std::move(req.chain));
    if (!chain.ok()) {
      return grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat("checks[", i, "]: ", chain.status().message()));
    }
    req.chain = *std::move(chain);
    requests.push_back(std::move(req));
  }
  for (size_t i = 0; i < requests.size(); ++i) {
    if (i % 64 == 0 && PastDeadline(context)) return DeadlineExceeded();
    absl::StatusOr<Decision> decision = pdp::Check(*snapshot, requests[i], directory_);
    if (!decision.ok()) {
      return grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat("checks[", i, "]: ", decision.status().message()));
    }
    v1::Decision* out = response.add_decisions();
    ToProto(*snapshot, *decision, out);
    out->set_decision_id(NextDecisionId());
  }
  if (log_ != nullptr) {
    const int64_t latency = MicrosSince(start);
    for (int i = 0; i < response.decisions_size(); ++i) {
      DecisionRecord record = CheckRecord(*snapshot, requests[i], response.decisions(i),
                                          caller->identity, start);
      record.latency_us = latency;
      log_->Append(std::move(record));
    }
  }
  return grpc::Status::OK;
}

grpc::Status AuthorizerService::DoFilterTools(
    grpc::CallbackServerContext& context,
    const v1::FilterToolsRequest& request, v1::FilterToolsResponse& response) {
  const absl::Time start = absl::Now();
  absl::StatusOr<CallerAuth::Caller> caller =
      auth_.Authorize(context, Permission::kFilter);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (request.tool_ids_size() > limits_.max_filter_tools) {
    return grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("tool_ids has ", request.tool_ids_size(),
                     " entries; at most ", limits_.max_filter_tools,
                     " (limits.max_filter_tools) are allowed in one call"));
  }
  std::shared_ptr<const Snapshot> snapshot = policy_.Get();
  if (snapshot == nullptr) return NoPolicy(policy_);
  if (PastDeadline(context)) return DeadlineExceeded();

  absl::StatusOr<Chain> resolved = WithTokens(
      *snapshot, request.chain(),
      FromProto(request.chain(), caller->Has(Permission::kAssertRoles)));
  if (!resolved.ok()) return ToGrpcStatus(resolved.status());
  const Chain& chain = *resolved;
  absl::StatusOr<std::vector<VisibleTool>> visible =
      pdp::FilterTools(*snapshot, chain, FromProto(request), directory_);
  if (!visible.ok()) return ToGrpcStatus(visible.status());
  ToProto(*snapshot, *visible, &response);
  if (log_ != nullptr) {
    DecisionRecord record = RecordOf(*snapshot, chain, caller->identity, start);
    record.decision_id = NextDecisionId();
    record.server = request.server_id();
    record.action = "filter";
    for (const v1::VisibleTool& tool : response.tools()) {
      record.visible_tools.push_back(tool.tool_id());
    }
    record.policy_version = snapshot->version();
    record.latency_us = MicrosSince(start);
    log_->Append(std::move(record));
  }
  return grpc::Status::OK;
}

grpc::Status AuthorizerService::DoCheckClientRequest(
    grpc::CallbackServerContext& context,
    const v1::CheckClientRequestRequest& request,
    v1::CheckClientRequestResponse& response) {
  absl::StatusOr<CallerAuth::Caller> caller =
      auth_.Authorize(context, Permission::kCheck);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (request.client_id().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "client_id is empty");
  }
  std::shared_ptr<const Snapshot> snapshot = policy_.Get();
  if (snapshot == nullptr) return NoPolicy(policy_);
  if (PastDeadline(context)) return DeadlineExceeded();
  ToProto(*snapshot, pdp::CheckClientRequest(*snapshot, FromProto(request)),
          &response);
  return grpc::Status::OK;
}

}  // namespace pdp::server
