#ifndef PDP_SERVER_POLICY_ADMIN_SERVICE_H_
#define PDP_SERVER_POLICY_ADMIN_SERVICE_H_

#include <functional>

#include "cache/store.h"
#include "pdp/active_policy.h"
#include "pdp/engine.h"
#include "pdp/server/bundle_manager.h"
#include "pdp/server/caller_auth.h"
#include "pdp/v1/admin.grpc.pb.h"

namespace pdp::server {

// pdp.v1.PolicyAdmin on a BundleManager: every RPC needs `admin`, except
// GetBundle, which `read_bundles` also allows (replicas bootstrapping from a
// peer), and Explain, which needs `explain` (it returns full decisions;
// `admin` alone does not allow it).
// Thread-safe. The referenced objects must outlive the service.
class PolicyAdminService final : public v1::PolicyAdmin::CallbackService {
 public:
  // `dropped_decisions` reports the decision log's drops for GetStatus.
  // Explain decides on `engine`, as the Authorizer does; GetStatus reports
  // `policy`, the engine's.
  PolicyAdminService(BundleManager& bundles, const cache::Store& store,
                     const ActivePolicy& policy, const Engine& engine,
                     const CallerAuth& auth,
                     std::function<uint64_t()> dropped_decisions)
      : bundles_(bundles),
        store_(store),
        policy_(policy),
        engine_(engine),
        auth_(auth),
        dropped_decisions_(std::move(dropped_decisions)) {}

  grpc::ServerUnaryReactor* PushBundle(
      grpc::CallbackServerContext* context,
      const v1::PushBundleRequest* request,
      v1::PushBundleResponse* response) override;
  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext* context,
                                      const v1::GetStatusRequest* request,
                                      v1::GetStatusResponse* response) override;
  grpc::ServerUnaryReactor* ListBundles(
      grpc::CallbackServerContext* context,
      const v1::ListBundlesRequest* request,
      v1::ListBundlesResponse* response) override;
  grpc::ServerUnaryReactor* Activate(grpc::CallbackServerContext* context,
                                     const v1::ActivateRequest* request,
                                     v1::ActivateResponse* response) override;
  // Decides as Authorizer.Check would for this caller, against the active
  // policy and the directory, and explains it. Nothing is logged.
  grpc::ServerUnaryReactor* Explain(grpc::CallbackServerContext* context,
                                    const v1::ExplainRequest* request,
                                    v1::ExplainResponse* response) override;
  grpc::ServerUnaryReactor* GetBundle(grpc::CallbackServerContext* context,
                                      const v1::GetBundleRequest* request,
                                      v1::SignedBundle* response) override;

 private:
  BundleManager& bundles_;
  const cache::Store& store_;
  const ActivePolicy& policy_;
  const Engine& engine_;
  const CallerAuth& auth_;
  const std::function<uint64_t()> dropped_decisions_;
};

}  // namespace pdp::server

#endif  // PDP_SERVER_POLICY_ADMIN_SERVICE_H_
