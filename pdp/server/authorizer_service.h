#ifndef PDP_SERVER_AUTHORIZER_SERVICE_H_
#define PDP_SERVER_AUTHORIZER_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "pdp/engine.h"
#include "pdp/server/caller_auth.h"
#include "pdp/server/config.h"
#include "pdp/server/decision_log.h"
#include "pdp/v1/authorizer.grpc.pb.h"

namespace pdp::server {

// pdp.v1.Authorizer on the Engine: authorizes the caller, translates the
// request in (pdp/api), has the Engine decide, translates the decision out,
// and hands one record per decision to the decision log. Every RPC completes inline on the gRPC thread that received
// it: evaluation is a few microseconds and never blocks.
// Thread-safe. The referenced objects must outlive the service.
class AuthorizerService final : public v1::Authorizer::CallbackService {
 public:
  // `log` may be null (no decision log).
  AuthorizerService(const Engine& engine, const CallerAuth& auth,
                    const ServerConfig::Limits& limits, DecisionLog* log);

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const v1::CheckRequest* request,
                                  v1::CheckResponse* response) override;
  grpc::ServerUnaryReactor* BatchCheck(
      grpc::CallbackServerContext* context,
      const v1::BatchCheckRequest* request,
      v1::BatchCheckResponse* response) override;
  grpc::ServerUnaryReactor* FilterTools(
      grpc::CallbackServerContext* context,
      const v1::FilterToolsRequest* request,
      v1::FilterToolsResponse* response) override;
  // Needs the caller's `check` permission. INVALID_ARGUMENT when client_id
  // is empty; a refusal is an OK response with allowed false.
  grpc::ServerUnaryReactor* CheckClientRequest(
      grpc::CallbackServerContext* context,
      const v1::CheckClientRequestRequest* request,
      v1::CheckClientRequestResponse* response) override;

 private:
  grpc::Status DoCheck(grpc::CallbackServerContext& context,
                       const v1::CheckRequest& request,
                       v1::CheckResponse& response);
  grpc::Status DoBatchCheck(grpc::CallbackServerContext& context,
                            const v1::BatchCheckRequest& request,
                            v1::BatchCheckResponse& response);
  grpc::Status DoFilterTools(grpc::CallbackServerContext& context,
                             const v1::FilterToolsRequest& request,
                             v1::FilterToolsResponse& response);
  grpc::Status DoCheckClientRequest(
      grpc::CallbackServerContext& context,
      const v1::CheckClientRequestRequest& request,
      v1::CheckClientRequestResponse& response);

  // A new, unique decision id.
  std::string NextDecisionId();

  const Engine& engine_;
  const CallerAuth& auth_;
  const ServerConfig::Limits limits_;
  DecisionLog* const log_;
  const std::string id_prefix_;  // Random per process.
  std::atomic<uint64_t> next_id_{0};
};

}  // namespace pdp::server

#endif  // PDP_SERVER_AUTHORIZER_SERVICE_H_
