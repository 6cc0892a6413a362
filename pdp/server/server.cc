#include "pdp/server/server.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpc/health/v1/health.pb.h"
#include "pdp/compiler.h"
#include "pdp/server/tls.h"

namespace pdp::server {

absl::StatusOr<std::unique_ptr<PdpServer>> PdpServer::Start(
    const ServerConfig& config) {
  if (absl::Status status = ValidateServerConfig(config); !status.ok()) {
    return status;
  }
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials(config);
  if (!credentials.ok()) return credentials.status();

  std::unique_ptr<PdpServer> server(new PdpServer);
  absl::StatusOr<CallerAuth> auth = CallerAuth::Create(config);
  if (!auth.ok()) return auth.status();
  server->auth_ = std::make_unique<CallerAuth>(*std::move(auth));

  std::shared_ptr<const Snapshot> snapshot;
  if (!config.policy.empty()) {
    absl::StatusOr<std::shared_ptr<const Snapshot>> compiled =
        Compiler::CompileDirectory(config.policy);
    if (!compiled.ok()) {
      return absl::Status(compiled.status().code(),
                          absl::StrCat("policy \"", config.policy,
                                       "\" does not compile:\n",
                                       compiled.status().message()));
    }
    snapshot = *std::move(compiled);
  }

  if (!config.decision_log.path.empty()) {
    DecisionLog::Options options;
    options.path = config.decision_log.path;
    options.queue_capacity = config.decision_log.queue_capacity;
    absl::StatusOr<std::unique_ptr<DecisionLog>> log = DecisionLog::Open(options);
    if (!log.ok()) return log.status();
    server->log_ = *std::move(log);
  }
  server->authorizer_ = std::make_unique<AuthorizerService>(
      server->policy_, *server->auth_, config.limits, server->log_.get());

  // Links grpc.health.v1's schema in, so that reflection can describe the
  // built-in health service.
  grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen, *credentials, &server->port_);
  builder.SetMaxReceiveMessageSize(config.limits.max_message_bytes);
  builder.RegisterService(server->authorizer_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on \"", config.listen, "\""));
  }
  server->Activate(std::move(snapshot));
  return server;
}

PdpServer::~PdpServer() { Shutdown(absl::ZeroDuration()); }

void PdpServer::Activate(std::shared_ptr<const Snapshot> snapshot) {
  const bool serving = snapshot != nullptr;
  policy_.Activate(std::move(snapshot));
  server_->GetHealthCheckService()->SetServingStatus(serving);
  server_->GetHealthCheckService()->SetServingStatus(
      v1::Authorizer::service_full_name(), serving);
}

void PdpServer::Shutdown(absl::Duration grace) {
  {
    absl::MutexLock lock(&shutdown_mu_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  if (server_ != nullptr) {
    server_->GetHealthCheckService()->Shutdown();
    server_->Shutdown(std::chrono::system_clock::now() +
                      absl::ToChronoMicroseconds(grace));
    server_->Wait();
  }
}

uint64_t PdpServer::dropped_decisions() const {
  return log_ == nullptr ? 0 : log_->dropped();
}

}  // namespace pdp::server
