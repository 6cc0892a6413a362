#include "pdp/server/authorizer_service.h"

#include <chrono>
#include <cstdio>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "pdp/api/translate.h"
#include "pdp/client_request.h"
#include "pdp/evaluator.h"
#include "pdp/names.h"
#include "pdp/server/serve_unary.h"
#include "pdp/server/status.h"

namespace pdp::server {
namespace {

using api::FromProto;
using api::ToProto;
using api::TokensFromProto;

std::string RandomPrefix() {
  std::random_device random;
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%08x%08x", random(), random());
  return hex;
}

// The call's deadline for the Engine; none is InfiniteFuture.
absl::Time DeadlineOf(const grpc::CallbackServerContext& context) {
  const std::chrono::system_clock::time_point deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
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

AuthorizerService::AuthorizerService(const Engine& engine,
                                     const CallerAuth& auth,
                                     const ServerConfig::Limits& limits,
                                     DecisionLog* log)
    : engine_(engine),
      auth_(auth),
      limits_(limits),
      log_(log),
      id_prefix_(RandomPrefix()) {}

std::string AuthorizerService::NextDecisionId() {
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx",
                static_cast<unsigned long long>(
                    next_id_.fetch_add(1, std::memory_order_relaxed)));
  return absl::StrCat(id_prefix_, "-", hex);
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
  absl::StatusOr<Engine::Checked> checked =
      engine_.Check(FromProto(request, caller->Has(Permission::kAssertRoles)),
                    TokensFromProto(request.chain()), DeadlineOf(context));
  if (!checked.ok()) return ToGrpcStatus(checked.status());
  v1::Decision* out = response.mutable_decision();
  ToProto(*checked->snapshot, checked->decision, out);
  out->set_decision_id(NextDecisionId());
  if (log_ != nullptr) {
    DecisionRecord record = CheckRecord(*checked->snapshot, checked->request,
                                        *out, caller->identity, start);
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
  const bool may_assert = caller->Has(Permission::kAssertRoles);
  std::vector<Request> requests;
  std::vector<ChainTokens> tokens;
  requests.reserve(request.checks_size());
  tokens.reserve(request.checks_size());
  for (const v1::CheckRequest& check : request.checks()) {
    requests.push_back(FromProto(check, may_assert));
    tokens.push_back(TokensFromProto(check.chain()));
  }
  absl::StatusOr<Engine::BatchChecked> checked = engine_.BatchCheck(
      std::move(requests), tokens, DeadlineOf(context));
  if (!checked.ok()) return ToGrpcStatus(checked.status());
  const Snapshot& snapshot = *checked->snapshot;
  response.mutable_decisions()->Reserve(
      static_cast<int>(checked->decisions.size()));
  for (const Decision& decision : checked->decisions) {
    v1::Decision* out = response.add_decisions();
    ToProto(snapshot, decision, out);
    out->set_decision_id(NextDecisionId());
  }
  if (log_ != nullptr) {
    const int64_t latency = MicrosSince(start);
    for (int i = 0; i < response.decisions_size(); ++i) {
      DecisionRecord record =
          CheckRecord(snapshot, checked->requests[i], response.decisions(i),
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
  absl::StatusOr<Engine::Filtered> filtered = engine_.FilterTools(
      FromProto(request.chain(), caller->Has(Permission::kAssertRoles)),
      TokensFromProto(request.chain()), FromProto(request),
      DeadlineOf(context));
  if (!filtered.ok()) return ToGrpcStatus(filtered.status());
  const Snapshot& snapshot = *filtered->snapshot;
  ToProto(snapshot, filtered->tools, &response);
  if (log_ != nullptr) {
    DecisionRecord record =
        RecordOf(snapshot, filtered->chain, caller->identity, start);
    record.decision_id = NextDecisionId();
    record.server = request.server_id();
    record.action = "filter";
    for (const v1::VisibleTool& tool : response.tools()) {
      record.visible_tools.push_back(tool.tool_id());
    }
    record.policy_version = snapshot.version();
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
  absl::StatusOr<std::shared_ptr<const Snapshot>> snapshot =
      engine_.Active(DeadlineOf(context));
  if (!snapshot.ok()) return ToGrpcStatus(snapshot.status());
  ToProto(**snapshot, pdp::CheckClientRequest(**snapshot, FromProto(request)),
          &response);
  return grpc::Status::OK;
}

}  // namespace pdp::server
