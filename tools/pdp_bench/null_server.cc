#include "tools/pdp_bench/null_server.h"

#include <chrono>
#include <cstdio>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/server_callback.h"
#include "pdp/v1/authorizer.grpc.pb.h"

namespace pdp_bench {

namespace v1 = ::pdp::v1;

class NullServer::Service final : public v1::Authorizer::CallbackService {
 public:
  explicit Service(int filter_tools) {
    v1::Decision* decision = check_.mutable_decision();
    decision->set_effect(v1::EFFECT_ALLOW);
    decision->set_policy_version("null-0000000000000000");
    decision->set_decision_id("null-00000000-0000-0000-0000-000000000000");
    filter_.set_policy_version(decision->policy_version());
    for (int i = 0; i < filter_tools; ++i) {
      v1::VisibleTool* tool = filter_.add_tools();
      tool->set_tool_id(absl::StrFormat("null.tool_%04d", i));
      if (i % 5 == 1) tool->set_requires_approval(true);
      if (i % 7 == 2) tool->set_step_up(v1::AUTH_STRENGTH_MFA);
      if (i % 3 == 0) tool->add_redact("pii");
    }
  }

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const v1::CheckRequest* /*request*/,
                                  v1::CheckResponse* response) override {
    *response = check_;
    return Finish(context);
  }

  grpc::ServerUnaryReactor* BatchCheck(
      grpc::CallbackServerContext* context,
      const v1::BatchCheckRequest* request,
      v1::BatchCheckResponse* response) override {
    response->mutable_decisions()->Reserve(request->checks_size());
    for (int i = 0; i < request->checks_size(); ++i) {
      *response->add_decisions() = check_.decision();
    }
    return Finish(context);
  }

  grpc::ServerUnaryReactor* FilterTools(
      grpc::CallbackServerContext* context,
      const v1::FilterToolsRequest* /*request*/,
      v1::FilterToolsResponse* response) override {
    *response = filter_;
    return Finish(context);
  }

 private:
  static grpc::ServerUnaryReactor* Finish(
      grpc::CallbackServerContext* context) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  v1::CheckResponse check_;
  v1::FilterToolsResponse filter_;
};

absl::StatusOr<std::unique_ptr<NullServer>> NullServer::Start(
    const NullServerOptions& options) {
  if (options.credentials == nullptr) {
    return absl::InvalidArgumentError("the null server needs credentials");
  }
  std::unique_ptr<NullServer> server(new NullServer());
  server->service_ = std::make_unique<Service>(options.filter_tools);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.address, options.credentials,
                           &server->port_);
  builder.RegisterService(server->service_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("the null server cannot listen on ", options.address));
  }
  return server;
}

NullServer::~NullServer() { Shutdown(); }

void NullServer::Shutdown() {
  if (server_ == nullptr) return;
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server_->Wait();
}

}  // namespace pdp_bench
