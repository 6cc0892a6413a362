#include "pdp/server/server.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "common/file/read_file.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/resource_quota.h"
#include "grpc/health/v1/health.pb.h"
#include "pdp/compiler.h"
#include "pdp/server/connection_guard.h"
#include "pdp/server/tls.h"

namespace pdp::server {
namespace {

absl::StatusOr<TrustedKeys> LoadTrustedKeys(const ServerConfig& config) {
  std::vector<std::pair<std::string, std::string>> keys;
  for (size_t i = 0; i < config.trusted_keys.size(); ++i) {
    const ServerConfig::TrustedKey& key = config.trusted_keys[i];
    absl::StatusOr<std::string> pem = common::ReadFile(key.public_key);
    if (!pem.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"trusted_keys[", i, "].public_key\": cannot read \"",
                       key.public_key, "\""));
    }
    std::string id = key.id;
    if (id.empty()) {
      absl::StatusOr<std::string> derived = KeyIdOf(*pem);
      if (!derived.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "\"trusted_keys[", i, "].public_key\": \"", key.public_key,
            "\" ", derived.status().message()));
      }
      id = *std::move(derived);
    }
    keys.emplace_back(std::move(id), *std::move(pem));
  }
  absl::StatusOr<TrustedKeys> trusted = TrustedKeys::Create(keys);
  if (!trusted.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"trusted_keys\": ", trusted.status().message()));
  }
  return trusted;
}

// Raises the descriptor limit and sets the connection ceiling
// (ConnectionGuard), and bounds what one connection may hold.
void ApplyConnectionLimits(const ServerConfig::Connections& limits,
                           grpc::ServerBuilder& builder) {
  const uint64_t descriptors = ConnectionGuard::RaiseDescriptorLimit();
  // The lowest free descriptor: about what the process holds before any
  // connection arrives.
  uint64_t in_use = 0;
  if (int probe = open("/dev/null", O_RDONLY | O_CLOEXEC); probe >= 0) {
    in_use = static_cast<uint64_t>(probe);
    close(probe);
  }
  const uint64_t reserved = static_cast<uint64_t>(limits.reserved_descriptors);
  uint64_t ceiling =
      in_use + static_cast<uint64_t>(limits.max_connections);
  if (descriptors > reserved) ceiling = std::min(ceiling, descriptors - reserved);
  if (ceiling <= in_use) {
    std::cerr << "pdp-server: WARNING: the descriptor limit (" << descriptors
              << ") leaves no room for connections after "
                 "connections.reserved_descriptors ("
              << reserved << "); connections are not capped\n";
    ceiling = 0;
  }
  ConnectionGuard::SetConnectionCeiling(ceiling);

  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             limits.max_concurrent_streams);
  builder.AddChannelArgument(GRPC_ARG_MAX_METADATA_SIZE,
                             limits.max_header_bytes);
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
                             limits.handshake_timeout_seconds * 1000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                             limits.idle_timeout_seconds * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                             limits.keepalive_seconds * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                             limits.keepalive_timeout_seconds * 1000);
  grpc::ResourceQuota quota("pdp-server");
  quota.Resize(static_cast<size_t>(limits.memory_bytes));
  builder.SetResourceQuota(quota);
}

}  // namespace

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
  // Why the store's active bundle cannot be served; empty if it can, or
  // when there is none.
  std::string store_unservable;
  if (!config.store.path.empty()) {
    absl::StatusOr<std::unique_ptr<cache::Store>> store =
        cache::Store::Open({.path = config.store.path});
    if (!store.ok()) {
      return absl::Status(store.status().code(),
                          absl::StrCat("store \"", config.store.path,
                                       "\": ", store.status().message()));
    }
    server->store_ = *std::move(store);
    absl::StatusOr<TrustedKeys> keys = LoadTrustedKeys(config);
    if (!keys.ok()) return keys.status();
    cache::UserDirectoryOptions directory_options;
    directory_options.capacity = config.store.user_cache_entries;
    directory_options.max_bytes =
        static_cast<size_t>(config.store.user_cache_bytes);
    server->directory_ = std::make_unique<cache::UserDirectory>(
        *server->store_, directory_options);
    server->user_source_ =
        std::make_unique<DirectoryUserSource>(*server->directory_);
    PdpServer* self = server.get();
    server->bundles_ = std::make_unique<BundleManager>(
        *server->store_, *std::move(keys),
        [self](std::shared_ptr<const Snapshot> s) { self->Activate(std::move(s)); });
    absl::StatusOr<std::shared_ptr<const Snapshot>> stored =
        server->bundles_->LoadActive();
    if (!stored.ok()) {
      store_unservable = std::string(stored.status().message());
    } else {
      snapshot = *std::move(stored);
    }
  }
  // Fail closed: a store whose active bundle no longer verifies or compiles
  // is never replaced by `policy` (an older, perhaps more permissive one)
  // unless the config says so; a push or an Activate repairs it.
  const bool store_has_active =
      snapshot != nullptr || !store_unservable.empty();
  if (!config.policy.empty() &&
      (!store_has_active || config.policy_overrides_store)) {
    absl::StatusOr<std::shared_ptr<const Snapshot>> compiled =
        Compiler::CompileDirectory(config.policy);
    if (!compiled.ok()) {
      return absl::Status(compiled.status().code(),
                          absl::StrCat("policy \"", config.policy,
                                       "\" does not compile:\n",
                                       compiled.status().message()));
    }
    snapshot = *std::move(compiled);
    if (!store_unservable.empty()) {
      std::cerr << "pdp-server: " << store_unservable
                << "; serving --policy " << config.policy
                << " instead (policy_overrides_store)\n";
      store_unservable.clear();
    }
  } else if (!config.policy.empty() && snapshot != nullptr) {
    std::cerr << "pdp-server: serving the store's active bundle; --policy "
              << config.policy << " only bootstraps an empty store\n";
  }
  if (!store_unservable.empty()) {
    std::cerr << "pdp-server: " << store_unservable
              << "; NOT_SERVING, every decision UNAVAILABLE until a push or "
                 "an Activate repairs it"
              << (config.policy.empty()
                      ? ""
                      : " (--policy is not served in its place unless "
                        "policy_overrides_store is set)")
              << "\n";
    server->policy_.SetUnavailableReason(store_unservable);
  }

  if (!config.decision_log.path.empty()) {
    DecisionLog::Options options;
    options.path = config.decision_log.path;
    options.queue_capacity = config.decision_log.queue_capacity;
    absl::StatusOr<std::unique_ptr<DecisionLog>> log = DecisionLog::Open(options);
    if (!log.ok()) return log.status();
    server->log_ = *std::move(log);
  }
  absl::StatusOr<std::unique_ptr<TokenTrust>> tokens =
      TokenTrust::Start(config.tokens);
  if (!tokens.ok()) return tokens.status();
  server->tokens_ = *std::move(tokens);
  Engine::Options engine;
  engine.tokens = server->tokens_.get();
  engine.users = server->user_source_.get();
  server->engine_ = std::make_unique<Engine>(server->policy_, engine);
  server->authorizer_ = std::make_unique<AuthorizerService>(
      *server->engine_, *server->auth_, config.limits, server->log_.get());
  if (server->store_ != nullptr) {
    server->admin_ = std::make_unique<PolicyAdminService>(
        *server->bundles_, *server->store_, server->policy_, *server->engine_,
        *server->auth_,
        [self = server.get()] { return self->dropped_decisions(); });
    server->directory_service_ = std::make_unique<DirectoryService>(
        *server->directory_, *server->auth_, config.limits);
  }

  // Links grpc.health.v1's schema in, so that reflection can describe the
  // built-in health service.
  grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen, *credentials, &server->port_);
  builder.SetMaxReceiveMessageSize(config.limits.max_message_bytes);
  ApplyConnectionLimits(config.connections, builder);
  server->decoding_ = std::make_unique<DecodingServices>(
      *server->authorizer_, server->admin_.get(),
      server->directory_service_.get(), config.limits);
  for (grpc::Service* service : server->decoding_->services()) {
    builder.RegisterService(service);
  }
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on \"", config.listen, "\""));
  }
  // Liveness: the process accepts connections, completes handshakes and
  // answers calls, whether or not a policy is active (Kubernetes'
  // livenessProbe asks for it with `pdpctl health --service liveness`).
  server->server_->GetHealthCheckService()->SetServingStatus(
      std::string(kLivenessService), true);
  server->Activate(std::move(snapshot));
  if (absl::Status s = server->StartPeerBootstrap(config); !s.ok()) return s;
  return server;
}

absl::Status PdpServer::StartPeerBootstrap(const ServerConfig& config) {
  if (config.bootstrap_peers.empty() || bundles_ == nullptr) {
    return absl::OkStatus();
  }
  absl::StatusOr<std::optional<BundleManager::Active>> active =
      bundles_->GetActive();
  if (!active.ok()) return active.status();
  if (active->has_value()) return absl::OkStatus();
  PeerBootstrap::Options options;
  options.peers = config.bootstrap_peers;
  options.own_port = port_;
  options.verify_host_name = !config.insecure;
  options.credentials =
      [config]() -> absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> {
    if (config.insecure) return grpc::InsecureChannelCredentials();
    grpc::SslCredentialsOptions tls;
    const std::pair<const std::string*, std::string*> files[] = {
        {&config.tls.client_ca, &tls.pem_root_certs},
        {&config.tls.cert, &tls.pem_cert_chain},
        {&config.tls.key, &tls.pem_private_key}};
    for (const auto& [path, pem] : files) {
      absl::StatusOr<std::string> content = common::ReadFile(*path);
      if (!content.ok()) {
        return absl::UnavailableError(
            absl::StrCat("cannot read \"", *path, "\""));
      }
      *pem = *std::move(content);
    }
    return grpc::SslCredentials(tls);
  };
  std::cerr << "pdp-server: the store has no active bundle; asking "
            << config.bootstrap_peers.size()
            << " bootstrap peer(s) for theirs\n";
  bootstrap_ = PeerBootstrap::Start(
      std::move(options),
      [this](const v1::SignedBundle& bundle) {
        return bundles_->Push(bundle).status();
      },
      [this] {
        absl::StatusOr<std::optional<BundleManager::Active>> active =
            bundles_->GetActive();
        return active.ok() && active->has_value();
      });
  return absl::OkStatus();
}

PdpServer::~PdpServer() { Shutdown(absl::ZeroDuration()); }

void PdpServer::Activate(std::shared_ptr<const Snapshot> snapshot) {
  const bool serving = snapshot != nullptr;
  policy_.Activate(std::move(snapshot));
  // By name: the unnamed overload would set kLivenessService too.
  server_->GetHealthCheckService()->SetServingStatus("", serving);
  server_->GetHealthCheckService()->SetServingStatus(
      v1::Authorizer::service_full_name(), serving);
}

void PdpServer::EnterLameDuck() {
  // The health service's terminal state: every service it knows, "" and
  // pdp.v1.Authorizer included, reports NOT_SERVING and later
  // SetServingStatus() calls (Activate()) are ignored. Calls are unaffected.
  server_->GetHealthCheckService()->Shutdown();
}

void PdpServer::Shutdown(absl::Duration grace) {
  {
    absl::MutexLock lock(&shutdown_mu_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  bootstrap_.reset();  // Stops asking peers before the store goes away.
  if (server_ != nullptr) {
    server_->GetHealthCheckService()->Shutdown();
    server_->Shutdown(std::chrono::system_clock::now() +
                      absl::ToChronoMicroseconds(grace));
    server_->Wait();
  }
}

std::string PdpServer::policy_version() const {
  std::shared_ptr<const Snapshot> snapshot = policy_.Get();
  return snapshot == nullptr ? "" : snapshot->version();
}

uint64_t PdpServer::undecodable_requests() const {
  return decoding_ == nullptr ? 0 : decoding_->undecodable();
}

uint64_t PdpServer::dropped_decisions() const {
  return log_ == nullptr ? 0 : log_->dropped();
}

}  // namespace pdp::server
