#ifndef TESTS_STORE_STORE_FIXTURE_H_
#define TESTS_STORE_STORE_FIXTURE_H_

// Helpers for the store's integration tests: Acme bundles of a given version
// (and variants), Ed25519 signing keys written to files, a server
// configuration with a RocksDB store and the callers `admin` (CI),
// `directory` (a sync worker) and `check` (the gateway), and thin wrappers
// over the PolicyAdmin, Directory and Authorizer stubs with deadlines.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "pdp/server/config.h"
#include "pdp/server/server.h"
#include "pdp/signing.h"
#include "pdp/v1/admin.grpc.pb.h"
#include "pdp/v1/authorizer.grpc.pb.h"
#include "pdp/v1/directory.grpc.pb.h"
#include "pdp/v1/policy.pb.h"
#include "tests/server/test_server.h"
#include "tests/testing/test_certs.h"

namespace pdp {
namespace storetest {

inline constexpr char kAcme[] = "examples/policies/acme";
// Granted `admin` by StoreConfig().
inline constexpr char kCi[] = "spiffe://acme.example/ci";
// Granted `directory` by StoreConfig().
inline constexpr char kSync[] = "spiffe://acme.example/directory-sync";
// Granted `explain` by StoreConfig(): an operator who may read decisions.
inline constexpr char kOperator[] = "spiffe://acme.example/operator";

// "code N (NAME): message", for failure output.
std::string Describe(const grpc::Status& status);

// The Acme policy directory as a bundle with `version` and source commit
// "commit-<version>". Returns the loader's errors as InvalidArgument.
absl::StatusOr<v1::Bundle> AcmeBundle(uint64_t version);

// Removes `tool` (an exact entry of its tool list) from role `role`.
// Returns whether it was there.
bool RemoveRoleTool(v1::Bundle* bundle, const std::string& role,
                    const std::string& tool);

// An Ed25519 key pair with its public half in a PEM file.
struct SigningKey {
  std::string id;               // KeyIdOf(public_pem).
  Ed25519Key pem;
  std::string public_key_file;  // Under a new temporary directory.
};

// Makes a key and writes its public PEM. Returns Internal on failure.
absl::StatusOr<SigningKey> NewSigningKey();

// SignBundle(bundle, key).
absl::StatusOr<v1::SignedBundle> Sign(const v1::Bundle& bundle,
                                      const SigningKey& key);

// pki.Config() (mTLS, 127.0.0.1:0, kGateway check+filter, no decision log)
// with no policy, the store at `store_path`, `key` trusted, kCi granted
// admin, kSync granted directory and kOperator granted explain.
server::ServerConfig StoreConfig(const servertest::TestPki& pki,
                                 const std::string& store_path,
                                 const SigningKey& key);

// PolicyAdmin.PushBundle with a deadline of `timeout`.
grpc::Status Push(v1::PolicyAdmin::Stub& admin, const v1::SignedBundle& bundle,
                  v1::PushBundleResponse* response = nullptr,
                  absl::Duration timeout = absl::Seconds(10));

// PolicyAdmin.GetStatus / ListBundles, with a 10 s deadline.
absl::StatusOr<v1::GetStatusResponse> GetStatus(v1::PolicyAdmin::Stub& admin);
absl::StatusOr<v1::ListBundlesResponse> ListBundles(
    v1::PolicyAdmin::Stub& admin);

// Authorizer.Check with a 10 s deadline; the call's error as a Status.
absl::StatusOr<v1::Decision> CheckDecision(v1::Authorizer::Stub& authorizer,
                                           const v1::CheckRequest& request);

// A Status from a grpc::Status.
absl::Status ToAbsl(const grpc::Status& status);

// A PdpServer with a store, in this process, and mTLS clients for kCi
// (admin), kSync (directory), kOperator (explain) and kGateway (check,
// filter). Restartable on
// the same store. Thread-compatible.
class StoreServer {
 public:
  // Makes the PKI, a trusted signing key and an empty store path.
  static absl::StatusOr<std::unique_ptr<StoreServer>> Create();

  // StoreConfig() for this server's PKI, store and key.
  server::ServerConfig Config() const;

  // Starts a server with `config` (stopping any running one first) and
  // connects new clients to it.
  absl::Status Start(const server::ServerConfig& config);
  // Start(Config()).
  absl::Status Start() { return Start(Config()); }
  // Shuts the server down and closes the store.
  void Stop();

  // Signs `bundle` with the trusted key and pushes it as kCi.
  grpc::Status PushBundle(const v1::Bundle& bundle,
                          v1::PushBundleResponse* response = nullptr);

  const SigningKey& key() const { return key_; }
  const servertest::TestPki& pki() const { return *pki_; }
  const std::string& store_path() const { return store_path_; }
  server::PdpServer* server() { return server_.get(); }

  // Channels as each caller; valid after Start().
  const std::shared_ptr<grpc::Channel>& ci() const { return ci_; }
  const std::shared_ptr<grpc::Channel>& sync() const { return sync_; }
  const std::shared_ptr<grpc::Channel>& gateway() const { return gateway_; }
  const std::shared_ptr<grpc::Channel>& operator_channel() const {
    return operator_;
  }
  v1::PolicyAdmin::Stub& admin() { return *admin_; }
  // PolicyAdmin as kOperator (Explain).
  v1::PolicyAdmin::Stub& explainer() { return *explainer_; }
  v1::Directory::Stub& directory() { return *directory_; }
  v1::Authorizer::Stub& authorizer() { return *authorizer_; }

 private:
  StoreServer() = default;

  std::unique_ptr<servertest::TestPki> pki_;
  SigningKey key_;
  std::string store_path_;
  testcerts::KeyAndCert ci_cert_, sync_cert_, gateway_cert_, operator_cert_;
  std::unique_ptr<server::PdpServer> server_;
  std::shared_ptr<grpc::Channel> ci_, sync_, gateway_, operator_;
  std::unique_ptr<v1::PolicyAdmin::Stub> admin_, explainer_;
  std::unique_ptr<v1::Directory::Stub> directory_;
  std::unique_ptr<v1::Authorizer::Stub> authorizer_;
};

// A directory user with the given roles.
v1::User MakeUser(const std::string& id, std::vector<std::string> roles);

}  // namespace storetest
}  // namespace pdp

#endif  // TESTS_STORE_STORE_FIXTURE_H_
