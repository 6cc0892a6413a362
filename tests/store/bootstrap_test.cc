// Peer bootstrap against real servers (in process, mTLS, RocksDB stores
// under TEST_TMPDIR, real Ed25519 signatures): PolicyAdmin.GetBundle hands
// out the stored signed bundle to `read_bundles` (or `admin`) callers only;
// a replica started with an empty store and bootstrap_peers fetches its
// peer's active bundle with its own certificate and serves it, unless the
// bundle's signing key is not one it trusts.

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pdp/server/config.h"
#include "pdp/server/server.h"
#include "pdp/v1/admin.grpc.pb.h"
#include "tests/server/test_server.h"
#include "tests/store/store_fixture.h"
#include "tests/testing/test_certs.h"

namespace pdp {
namespace storetest {
namespace {

using servertest::Deadline;
using servertest::HealthCheck;
using servertest::MtlsChannel;
using testcerts::KeyAndCert;
using ::testing::HasSubstr;

// The identity replicas present to each other.
constexpr char kReplica[] = "spiffe://acme.example/ns/pdp/sa/pdp-server";
constexpr int kServing = 1;
constexpr int kNotServing = 2;

class BootstrapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<StoreServer>> a = StoreServer::Create();
    ASSERT_TRUE(a.ok()) << a.status();
    a_ = *std::move(a);
    server::ServerConfig config = a_->Config();
    config.callers.push_back({kReplica, {server::Permission::kReadBundles}});
    ASSERT_TRUE(a_->Start(config).ok());

    // A replica's certificate: server and client auth, its SPIFFE id and the
    // names the peers are dialled by.
    testcerts::IssueOptions options;
    options.common_name = "pdp-server";
    options.dns_sans = {"localhost"};
    options.uri_sans = {kReplica};
    options.ip_sans = {"127.0.0.1"};
    options.server = true;
    options.client = true;
    absl::StatusOr<KeyAndCert> cert = a_->pki().ca().Issue(options);
    ASSERT_TRUE(cert.ok()) << cert.status();
    replica_cert_ = *std::move(cert);
    const std::string dir = servertest::NewTempDir();
    replica_cert_file_ = dir + "/replica.pem";
    replica_key_file_ = dir + "/replica.key";
    ASSERT_TRUE(
        testcerts::WriteFile(replica_cert_file_, replica_cert_.cert_pem).ok());
    ASSERT_TRUE(
        testcerts::WriteFile(replica_key_file_, replica_cert_.key_pem).ok());
  }

  // Signs Acme at `version` with A's key and pushes it to A.
  v1::SignedBundle PushToA(uint64_t version) {
    absl::StatusOr<v1::Bundle> bundle = AcmeBundle(version);
    EXPECT_TRUE(bundle.ok()) << bundle.status();
    absl::StatusOr<v1::SignedBundle> signed_bundle = Sign(*bundle, a_->key());
    EXPECT_TRUE(signed_bundle.ok()) << signed_bundle.status();
    grpc::Status pushed = Push(a_->admin(), *signed_bundle);
    EXPECT_TRUE(pushed.ok()) << Describe(pushed);
    return *signed_bundle;
  }

  // A new replica's config: an empty store, the replica certificate, `key`
  // trusted, and A as its bootstrap peer.
  server::ServerConfig ReplicaConfig(const SigningKey& key) {
    server::ServerConfig config =
        StoreConfig(a_->pki(), servertest::NewTempDir() + "/store", key);
    config.tls.cert = replica_cert_file_;
    config.tls.key = replica_key_file_;
    config.bootstrap_peers = {absl::StrCat("localhost:", a_->server()->port())};
    return config;
  }

  grpc::Status GetBundle(v1::PolicyAdmin::Stub& stub, uint64_t version,
                         v1::SignedBundle* bundle) {
    v1::GetBundleRequest request;
    request.set_version(version);
    return stub.GetBundle(Deadline().get(), request, bundle);
  }

  std::unique_ptr<StoreServer> a_;
  KeyAndCert replica_cert_;
  std::string replica_cert_file_, replica_key_file_;
};

TEST_F(BootstrapTest, GetBundleHandsOutTheStoredSignedBundle) {
  v1::SignedBundle bundle;
  grpc::Status status = GetBundle(a_->admin(), 0, &bundle);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND)
      << Describe(status);

  const v1::SignedBundle v5 = PushToA(5);
  const v1::SignedBundle v6 = PushToA(6);
  status = GetBundle(a_->admin(), 0, &bundle);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(bundle.SerializeAsString(), v6.SerializeAsString());
  status = GetBundle(a_->admin(), 5, &bundle);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(bundle.SerializeAsString(), v5.SerializeAsString());
  status = GetBundle(a_->admin(), 9, &bundle);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND)
      << Describe(status);

  // read_bundles: GetBundle and nothing else.
  auto replica = v1::PolicyAdmin::NewStub(MtlsChannel(
      a_->server()->port(), a_->pki().ca().cert_pem(), &replica_cert_));
  status = GetBundle(*replica, 0, &bundle);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(bundle.SerializeAsString(), v6.SerializeAsString());
  v1::GetStatusResponse ignored;
  status =
      replica->GetStatus(Deadline().get(), v1::GetStatusRequest(), &ignored);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  status = Push(*replica, v6);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  // The gateway (check, filter) may not read bundles.
  auto gateway = v1::PolicyAdmin::NewStub(a_->gateway());
  status = GetBundle(*gateway, 0, &bundle);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("read_bundles"));
}

TEST_F(BootstrapTest, EmptyReplicaServesItsPeersActiveBundle) {
  const v1::SignedBundle v7 = PushToA(7);
  // A peer that is gone and one whose certificate is from another CA come
  // first: each failure is logged and the next peer asked.
  absl::StatusOr<std::unique_ptr<StoreServer>> foreign = StoreServer::Create();
  ASSERT_TRUE(foreign.ok()) << foreign.status();
  ASSERT_TRUE((*foreign)->Start().ok());
  int dead_port = 0;
  {
    absl::StatusOr<std::unique_ptr<StoreServer>> gone = StoreServer::Create();
    ASSERT_TRUE(gone.ok() && (*gone)->Start().ok());
    dead_port = (*gone)->server()->port();
  }
  server::ServerConfig config = ReplicaConfig(a_->key());
  config.bootstrap_peers.insert(
      config.bootstrap_peers.begin(),
      {absl::StrCat("localhost:", dead_port),
       absl::StrCat("localhost:", (*foreign)->server()->port())});
  absl::StatusOr<std::unique_ptr<server::PdpServer>> b =
      server::PdpServer::Start(config);
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_NE((*b)->bootstrap(), nullptr);
  ASSERT_TRUE((*b)->bootstrap()->AwaitFinished(absl::Seconds(60)));
  EXPECT_EQ((*b)->policy_version(), "7");

  absl::StatusOr<KeyAndCert> ci = a_->pki().Client(kCi);
  ASSERT_TRUE(ci.ok());
  auto channel = MtlsChannel((*b)->port(), a_->pki().ca().cert_pem(), &*ci);
  EXPECT_EQ(*HealthCheck(channel), kServing);
  auto admin = v1::PolicyAdmin::NewStub(channel);
  absl::StatusOr<v1::GetStatusResponse> status = GetStatus(*admin);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->active().metadata().version(), 7u);
  EXPECT_EQ(status->active().key_id(), v7.key_id());
  // Stored as a push stores it: the same signed bytes.
  v1::SignedBundle stored;
  grpc::Status got = GetBundle(*admin, 7, &stored);
  ASSERT_TRUE(got.ok()) << Describe(got);
  EXPECT_EQ(stored.SerializeAsString(), v7.SerializeAsString());
}

TEST_F(BootstrapTest, ReplicaThatDoesNotTrustTheSigningKeyStaysNotServing) {
  PushToA(3);
  absl::StatusOr<SigningKey> other = NewSigningKey();
  ASSERT_TRUE(other.ok()) << other.status();
  absl::StatusOr<std::unique_ptr<server::PdpServer>> b =
      server::PdpServer::Start(ReplicaConfig(*other));
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_NE((*b)->bootstrap(), nullptr);
  ASSERT_TRUE((*b)->bootstrap()->AwaitRounds(1, absl::Seconds(60)));
  EXPECT_FALSE((*b)->bootstrap()->AwaitFinished(absl::ZeroDuration()));
  EXPECT_EQ((*b)->policy_version(), "");

  absl::StatusOr<KeyAndCert> ci = a_->pki().Client(kCi);
  ASSERT_TRUE(ci.ok());
  auto channel = MtlsChannel((*b)->port(), a_->pki().ca().cert_pem(), &*ci);
  EXPECT_EQ(*HealthCheck(channel), kNotServing);

  // A push of a bundle it trusts ends the bootstrap.
  absl::StatusOr<v1::Bundle> bundle = AcmeBundle(1);
  ASSERT_TRUE(bundle.ok());
  absl::StatusOr<v1::SignedBundle> signed_bundle = Sign(*bundle, *other);
  ASSERT_TRUE(signed_bundle.ok());
  auto admin = v1::PolicyAdmin::NewStub(channel);
  grpc::Status pushed = Push(*admin, *signed_bundle);
  ASSERT_TRUE(pushed.ok()) << Describe(pushed);
  EXPECT_EQ(*HealthCheck(channel), kServing);
  EXPECT_TRUE((*b)->bootstrap()->AwaitFinished(absl::Seconds(60)));
  EXPECT_EQ((*b)->policy_version(), "1");
}

TEST_F(BootstrapTest, NoBootstrapWhenTheStoreHasABundle) {
  PushToA(2);
  server::ServerConfig config = a_->Config();
  config.bootstrap_peers = {"localhost:1"};
  ASSERT_TRUE(a_->Start(config).ok());  // Restart on the same store.
  EXPECT_EQ(a_->server()->bootstrap(), nullptr);
  EXPECT_EQ(a_->server()->policy_version(), "2");
}

}  // namespace
}  // namespace storetest
}  // namespace pdp
