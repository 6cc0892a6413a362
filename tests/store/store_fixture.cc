#include "tests/store/store_fixture.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "pdp/diagnostics.h"
#include "pdp/policy_loader.h"
#include "tests/testing/test_certs.h"

namespace pdp {
namespace storetest {

std::string Describe(const grpc::Status& status) {
  return ToAbsl(status).ToString();
}

absl::Status ToAbsl(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

absl::StatusOr<v1::Bundle> AcmeBundle(uint64_t version) {
  Diagnostics diagnostics;
  absl::StatusOr<v1::Bundle> bundle = LoadPolicyDirectory(kAcme, &diagnostics);
  if (!bundle.ok()) return bundle.status();
  if (!diagnostics.empty()) return diagnostics.ToStatus(kAcme);
  bundle->mutable_metadata()->set_version(version);
  bundle->mutable_metadata()->set_source_commit(absl::StrCat("commit-", version));
  bundle->mutable_metadata()->set_created_unix_seconds(1700000000 + version);
  return bundle;
}

bool RemoveRoleTool(v1::Bundle* bundle, const std::string& role,
                    const std::string& tool) {
  for (v1::Role& r : *bundle->mutable_roles()) {
    if (r.id() != role) continue;
    auto* tools = r.mutable_tools();
    auto it = std::find(tools->begin(), tools->end(), tool);
    if (it == tools->end()) return false;
    tools->erase(it);
    return true;
  }
  return false;
}

absl::StatusOr<SigningKey> NewSigningKey() {
  absl::StatusOr<Ed25519Key> pem = GenerateEd25519Key();
  if (!pem.ok()) return pem.status();
  absl::StatusOr<std::string> id = KeyIdOf(pem->public_pem);
  if (!id.ok()) return id.status();
  const std::string dir = servertest::NewTempDir();
  if (dir.empty()) return absl::InternalError("cannot make a temporary dir");
  SigningKey key{*std::move(id), *std::move(pem), dir + "/signer.pub.pem"};
  if (absl::Status s =
          testcerts::WriteFile(key.public_key_file, key.pem.public_pem);
      !s.ok()) {
    return s;
  }
  return key;
}

absl::StatusOr<v1::SignedBundle> Sign(const v1::Bundle& bundle,
                                      const SigningKey& key) {
  return SignBundle(bundle, key.pem.private_pem);
}

server::ServerConfig StoreConfig(const servertest::TestPki& pki,
                                 const std::string& store_path,
                                 const SigningKey& key) {
  server::ServerConfig config = pki.Config();
  config.policy.clear();
  config.store.path = store_path;
  config.trusted_keys.push_back({key.id, key.public_key_file});
  config.callers.push_back({kCi, {server::Permission::kAdmin}});
  config.callers.push_back({kSync, {server::Permission::kDirectory}});
  config.callers.push_back({kOperator, {server::Permission::kExplain}});
  return config;
}

grpc::Status Push(v1::PolicyAdmin::Stub& admin, const v1::SignedBundle& bundle,
                  v1::PushBundleResponse* response, absl::Duration timeout) {
  v1::PushBundleRequest request;
  *request.mutable_bundle() = bundle;
  v1::PushBundleResponse ignored;
  return admin.PushBundle(servertest::Deadline(timeout).get(), request,
                          response != nullptr ? response : &ignored);
}

absl::StatusOr<v1::GetStatusResponse> GetStatus(v1::PolicyAdmin::Stub& admin) {
  v1::GetStatusResponse response;
  grpc::Status status = admin.GetStatus(servertest::Deadline().get(),
                                        v1::GetStatusRequest(), &response);
  if (!status.ok()) return ToAbsl(status);
  return response;
}

absl::StatusOr<v1::ListBundlesResponse> ListBundles(
    v1::PolicyAdmin::Stub& admin) {
  v1::ListBundlesResponse response;
  grpc::Status status = admin.ListBundles(servertest::Deadline().get(),
                                          v1::ListBundlesRequest(), &response);
  if (!status.ok()) return ToAbsl(status);
  return response;
}

absl::StatusOr<v1::Decision> CheckDecision(v1::Authorizer::Stub& authorizer,
                                           const v1::CheckRequest& request) {
  v1::CheckResponse response;
  grpc::Status status =
      authorizer.Check(servertest::Deadline().get(), request, &response);
  if (!status.ok()) return ToAbsl(status);
  return response.decision();
}

absl::StatusOr<std::unique_ptr<StoreServer>> StoreServer::Create() {
  std::unique_ptr<StoreServer> s(new StoreServer);
  absl::StatusOr<servertest::TestPki> pki = servertest::TestPki::Create();
  if (!pki.ok()) return pki.status();
  s->pki_ = std::make_unique<servertest::TestPki>(*std::move(pki));
  absl::StatusOr<SigningKey> key = NewSigningKey();
  if (!key.ok()) return key.status();
  s->key_ = *std::move(key);
  const std::string dir = servertest::NewTempDir();
  if (dir.empty()) return absl::InternalError("cannot make a temporary dir");
  s->store_path_ = dir + "/store";
  for (auto [id, cert] : {std::make_pair(kCi, &s->ci_cert_),
                          std::make_pair(kSync, &s->sync_cert_),
                          std::make_pair(servertest::kGateway,
                                         &s->gateway_cert_),
                          std::make_pair(kOperator, &s->operator_cert_)}) {
    absl::StatusOr<testcerts::KeyAndCert> issued = s->pki_->Client(id);
    if (!issued.ok()) return issued.status();
    *cert = *std::move(issued);
  }
  return s;
}

server::ServerConfig StoreServer::Config() const {
  return StoreConfig(*pki_, store_path_, key_);
}

absl::Status StoreServer::Start(const server::ServerConfig& config) {
  Stop();
  absl::StatusOr<std::unique_ptr<server::PdpServer>> server =
      server::PdpServer::Start(config);
  if (!server.ok()) return server.status();
  server_ = *std::move(server);
  const std::string& ca = pki_->ca().cert_pem();
  ci_ = servertest::MtlsChannel(server_->port(), ca, &ci_cert_);
  sync_ = servertest::MtlsChannel(server_->port(), ca, &sync_cert_);
  gateway_ = servertest::MtlsChannel(server_->port(), ca, &gateway_cert_);
  operator_ = servertest::MtlsChannel(server_->port(), ca, &operator_cert_);
  admin_ = v1::PolicyAdmin::NewStub(ci_);
  explainer_ = v1::PolicyAdmin::NewStub(operator_);
  directory_ = v1::Directory::NewStub(sync_);
  authorizer_ = v1::Authorizer::NewStub(gateway_);
  return absl::OkStatus();
}

void StoreServer::Stop() {
  admin_.reset();
  explainer_.reset();
  directory_.reset();
  authorizer_.reset();
  ci_.reset();
  sync_.reset();
  gateway_.reset();
  operator_.reset();
  server_.reset();  // Shuts down, then closes the store.
}

grpc::Status StoreServer::PushBundle(const v1::Bundle& bundle,
                                     v1::PushBundleResponse* response) {
  absl::StatusOr<v1::SignedBundle> signed_bundle = Sign(bundle, key_);
  if (!signed_bundle.ok()) {
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        std::string(signed_bundle.status().message()));
  }
  return Push(*admin_, *signed_bundle, response);
}

v1::User MakeUser(const std::string& id, std::vector<std::string> roles) {
  v1::User user;
  user.set_id(id);
  for (std::string& role : roles) user.add_roles(std::move(role));
  return user;
}

}  // namespace storetest
}  // namespace pdp
