#include "pdp/server/policy_admin_service.h"

#include <iostream>

#include "absl/strings/str_cat.h"
#include "pdp/api/translate.h"
#include "pdp/server/serve_unary.h"
#include "pdp/server/status.h"

namespace pdp::server {
grpc::ServerUnaryReactor* PolicyAdminService::PushBundle(
    grpc::CallbackServerContext* context, const v1::PushBundleRequest* request,
    v1::PushBundleResponse* response) {
  return ServeUnary(context, auth_, Permission::kAdmin, [&](const CallerAuth::Caller& caller) {
    absl::StatusOr<BundleManager::Active> active =
        bundles_.Push(request->bundle());
    if (!active.ok()) {
      std::cerr << "pdp-server: push by " << caller.identity
                << " refused: " << active.status().message() << "\n";
      return active.status();
    }
    std::cerr << "pdp-server: push by " << caller.identity
              << ": version " << active->info.metadata().version()
              << (active->already_active
                      ? " was already active (the same signed bytes)\n"
                      : " is active\n");
    *response->mutable_active() = active->info;
    response->set_activated_unix_micros(active->activated_unix_micros);
    response->set_already_active(active->already_active);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* PolicyAdminService::GetStatus(
    grpc::CallbackServerContext* context, const v1::GetStatusRequest*,
    v1::GetStatusResponse* response) {
  return ServeUnary(context, auth_, Permission::kAdmin, [&](const CallerAuth::Caller&) {
    absl::StatusOr<std::optional<BundleManager::Active>> active =
        bundles_.GetActive();
    if (!active.ok()) return active.status();
    std::shared_ptr<const Snapshot> snapshot = policy_.Get();
    // The stored active bundle, when it is what decisions are made against
    // (not when a --policy directory overrides the store).
    if (active->has_value() && snapshot != nullptr &&
        snapshot->version() ==
            absl::StrCat((*active)->info.metadata().version())) {
      *response->mutable_active() = (*active)->info;
      response->set_activated_unix_micros((*active)->activated_unix_micros);
    }
    response->set_serving(snapshot != nullptr);
    if (snapshot == nullptr) {
      response->set_not_serving_reason(policy_.UnavailableReason());
    }
    if (snapshot != nullptr) {
      response->set_policy_version(snapshot->version());
      response->set_tools(static_cast<int32_t>(snapshot->tools().size()));
      response->set_roles(static_cast<int32_t>(snapshot->roles().size()));
      response->set_bundle_users(static_cast<int32_t>(snapshot->users().size()));
    }
    response->set_directory_users(store_.UserCount());
    response->set_dropped_decisions(dropped_decisions_());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* PolicyAdminService::ListBundles(
    grpc::CallbackServerContext* context, const v1::ListBundlesRequest*,
    v1::ListBundlesResponse* response) {
  return ServeUnary(context, auth_, Permission::kAdmin, [&](const CallerAuth::Caller&) {
    absl::StatusOr<std::vector<v1::BundleInfo>> bundles = store_.ListBundles();
    if (!bundles.ok()) return bundles.status();
    for (v1::BundleInfo& info : *bundles) {
      *response->add_bundles() = std::move(info);
    }
    absl::StatusOr<std::optional<cache::Store::ActiveBundle>> active =
        store_.GetActive();
    if (!active.ok()) return active.status();
    if (active->has_value()) response->set_active_version((*active)->version);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* PolicyAdminService::Activate(
    grpc::CallbackServerContext* context, const v1::ActivateRequest* request,
    v1::ActivateResponse* response) {
  return ServeUnary(context, auth_, Permission::kAdmin, [&](const CallerAuth::Caller& caller) {
    absl::StatusOr<BundleManager::Active> active =
        bundles_.Activate(request->version());
    if (!active.ok()) return active.status();
    std::cerr << "pdp-server: ROLLBACK by " << caller.identity
              << ": stored version " << request->version()
              << " is active again\n";
    *response->mutable_active() = active->info;
    response->set_activated_unix_micros(active->activated_unix_micros);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* PolicyAdminService::Explain(
    grpc::CallbackServerContext* context, const v1::ExplainRequest* request,
    v1::ExplainResponse* response) {
  return ServeUnary(
      context, auth_, Permission::kExplain,
      [&](const CallerAuth::Caller& caller) -> absl::Status {
        absl::StatusOr<Engine::Explained> explained = engine_.Explain(
            api::FromProto(request->check(),
                           caller.Has(Permission::kAssertRoles)),
            api::TokensFromProto(request->check().chain()),
            request->source_dir());
        if (!explained.ok()) return explained.status();
        api::ToProto(*explained->snapshot, explained->decision,
                     response->mutable_decision());
        response->set_policy_version(explained->snapshot->version());
        api::ToProto(explained->lines, response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* PolicyAdminService::GetBundle(
    grpc::CallbackServerContext* context, const v1::GetBundleRequest* request,
    v1::SignedBundle* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<CallerAuth::Caller> caller =
      auth_.Authorize(*context, Permission::kReadBundles);
  if (!caller.ok()) {
    absl::StatusOr<CallerAuth::Caller> admin =
        auth_.Authorize(*context, Permission::kAdmin);
    if (admin.ok()) caller = std::move(admin);
  }
  if (!caller.ok()) {
    FinishUnary(reactor, ToGrpcStatus(caller.status()));
    return reactor;
  }
  uint64_t version = request->version();
  if (version == 0) {
    absl::StatusOr<std::optional<cache::Store::ActiveBundle>> active =
        store_.GetActive();
    if (!active.ok()) {
      FinishUnary(reactor, ToGrpcStatus(active.status()));
      return reactor;
    }
    if (!active->has_value()) {
      FinishUnary(reactor, ToGrpcStatus(
          absl::NotFoundError("no stored bundle is active on this server")));
      return reactor;
    }
    version = (*active)->version;
  }
  absl::StatusOr<v1::SignedBundle> bundle = store_.GetBundle(version);
  if (bundle.ok()) {
    std::cerr << "pdp-server: bundle version " << version << " fetched by "
              << caller->identity << "\n";
    *response = *std::move(bundle);
  }
  FinishUnary(reactor, ToGrpcStatus(bundle.status()));
  return reactor;
}

}  // namespace pdp::server
