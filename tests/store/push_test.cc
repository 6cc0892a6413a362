// PolicyAdmin against the real server (in process, mTLS, RocksDB under
// TEST_TMPDIR, real Ed25519 signatures): every refused push leaves the
// active version and its decisions as they were and names the step that
// refused it; a good push changes decisions at once; Activate rolls back.

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pdp/server/server.h"
#include "pdp/v1/admin.grpc.pb.h"
#include "pdp/v1/authorizer.grpc.pb.h"
#include "pdp/v1/directory.grpc.pb.h"
#include "tests/server/test_server.h"
#include "tests/store/store_fixture.h"
#include "tests/testing/test_certs.h"

namespace pdp {
namespace storetest {
namespace {

using servertest::AllowedCheck;
using servertest::Deadline;
using servertest::MtlsChannel;
using servertest::TestPki;
using testcerts::KeyAndCert;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// The version the fixture pushes first.
constexpr uint64_t kBase = 5;

class PushTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TestPki> pki = TestPki::Create();
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = std::make_unique<TestPki>(*std::move(pki));
    absl::StatusOr<SigningKey> key = NewSigningKey();
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = *std::move(key);
    store_path_ = servertest::NewTempDir() + "/store";

    absl::StatusOr<std::unique_ptr<server::PdpServer>> server =
        server::PdpServer::Start(StoreConfig(*pki_, store_path_, key_));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);

    const std::string& ca = pki_->ca().cert_pem();
    for (auto [id, out] : {std::make_pair(kCi, &ci_),
                           std::make_pair(kSync, &sync_),
                           std::make_pair(servertest::kGateway, &gateway_)}) {
      absl::StatusOr<KeyAndCert> cert = pki_->Client(id);
      ASSERT_TRUE(cert.ok()) << cert.status();
      *out = MtlsChannel(server_->port(), ca, &*cert);
    }
    admin_ = v1::PolicyAdmin::NewStub(ci_);
    authorizer_ = v1::Authorizer::NewStub(gateway_);

    absl::StatusOr<v1::Bundle> base = AcmeBundle(kBase);
    ASSERT_TRUE(base.ok()) << base.status();
    absl::StatusOr<v1::SignedBundle> signed_base = Sign(*base, key_);
    ASSERT_TRUE(signed_base.ok()) << signed_base.status();
    grpc::Status pushed = Push(*admin_, *signed_base);
    ASSERT_TRUE(pushed.ok()) << Describe(pushed);
    ExpectActive(kBase, v1::EFFECT_ALLOW);
  }

  // Acme at `version` without hr.get_salary for executives: AllowedCheck()
  // (alice, an executive, reads a salary) is then denied.
  v1::SignedBundle SalaryRemoved(uint64_t version) {
    absl::StatusOr<v1::Bundle> bundle = AcmeBundle(version);
    EXPECT_TRUE(bundle.ok()) << bundle.status();
    EXPECT_TRUE(RemoveRoleTool(&*bundle, "executive", "hr.get_salary"));
    absl::StatusOr<v1::SignedBundle> signed_bundle = Sign(*bundle, key_);
    EXPECT_TRUE(signed_bundle.ok()) << signed_bundle.status();
    return *signed_bundle;
  }

  // The active version (GetStatus and ListBundles) is `version`, and the
  // decisions are made with it: AllowedCheck() gets `effect`.
  void ExpectActive(uint64_t version, v1::Effect effect) {
    absl::StatusOr<v1::GetStatusResponse> status = GetStatus(*admin_);
    ASSERT_TRUE(status.ok()) << status.status();
    EXPECT_TRUE(status->serving());
    EXPECT_EQ(status->active().metadata().version(), version);
    EXPECT_EQ(status->active().metadata().source_commit(),
              absl::StrCat("commit-", version));
    EXPECT_EQ(status->active().key_id(), key_.id);
    EXPECT_EQ(status->policy_version(), absl::StrCat(version));
    absl::StatusOr<v1::ListBundlesResponse> list = ListBundles(*admin_);
    ASSERT_TRUE(list.ok()) << list.status();
    EXPECT_EQ(list->active_version(), version);
    absl::StatusOr<v1::Decision> decision =
        CheckDecision(*authorizer_, AllowedCheck());
    ASSERT_TRUE(decision.ok()) << decision.status();
    EXPECT_EQ(decision->effect(), effect) << decision->DebugString();
    EXPECT_EQ(decision->policy_version(), absl::StrCat(version));
  }

  // Pushes `bundle`, expects it refused with `code` and a message starting
  // with `step` ("verify: ..."), and the base version still active.
  void ExpectRefused(const v1::SignedBundle& bundle, grpc::StatusCode code,
                     const std::string& step, const std::string& detail = "") {
    grpc::Status status = Push(*admin_, bundle);
    EXPECT_EQ(status.error_code(), code) << Describe(status);
    EXPECT_THAT(status.error_message(), StartsWith(step + ": "));
    EXPECT_THAT(status.error_message(), HasSubstr(detail));
    ExpectActive(kBase, v1::EFFECT_ALLOW);
    absl::StatusOr<v1::ListBundlesResponse> list = ListBundles(*admin_);
    ASSERT_TRUE(list.ok()) << list.status();
    ASSERT_EQ(list->bundles_size(), 1) << "a refused bundle was stored";
    EXPECT_EQ(list->bundles(0).metadata().version(), kBase);
  }

  std::unique_ptr<TestPki> pki_;
  SigningKey key_;
  std::string store_path_;
  std::unique_ptr<server::PdpServer> server_;
  std::shared_ptr<grpc::Channel> ci_, sync_, gateway_;
  std::unique_ptr<v1::PolicyAdmin::Stub> admin_;
  std::unique_ptr<v1::Authorizer::Stub> authorizer_;
};

TEST_F(PushTest, UnsignedBundleIsRefusedAtVerify) {
  v1::SignedBundle bundle = SalaryRemoved(kBase + 1);
  bundle.clear_signature();
  ExpectRefused(bundle, grpc::StatusCode::PERMISSION_DENIED, "verify",
                key_.id);
  // No key id at all.
  bundle.clear_key_id();
  ExpectRefused(bundle, grpc::StatusCode::PERMISSION_DENIED, "verify");
}

TEST_F(PushTest, BundleSignedByAnUnknownKeyIsRefusedAtVerify) {
  absl::StatusOr<SigningKey> stranger = NewSigningKey();
  ASSERT_TRUE(stranger.ok()) << stranger.status();
  absl::StatusOr<v1::Bundle> bundle = AcmeBundle(kBase + 1);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  ASSERT_TRUE(RemoveRoleTool(&*bundle, "executive", "hr.get_salary"));
  absl::StatusOr<v1::SignedBundle> signed_bundle = Sign(*bundle, *stranger);
  ASSERT_TRUE(signed_bundle.ok()) << signed_bundle.status();
  ASSERT_EQ(signed_bundle->key_id(), stranger->id);
  ExpectRefused(*signed_bundle, grpc::StatusCode::PERMISSION_DENIED, "verify",
                "not trusted");
  // The stranger's signature under the trusted key's name.
  signed_bundle->set_key_id(key_.id);
  ExpectRefused(*signed_bundle, grpc::StatusCode::PERMISSION_DENIED, "verify",
                "does not verify");
}

TEST_F(PushTest, TamperedByteIsRefusedAtVerify) {
  const v1::SignedBundle good = SalaryRemoved(kBase + 1);
  ASSERT_GT(good.bundle().size(), 200u);
  // A byte early (in the metadata), in the middle and the last one.
  for (size_t at : {size_t{3}, good.bundle().size() / 2,
                    good.bundle().size() - 1}) {
    SCOPED_TRACE(absl::StrCat("byte ", at));
    v1::SignedBundle tampered = good;
    (*tampered.mutable_bundle())[at] ^= 0x01;
    ExpectRefused(tampered, grpc::StatusCode::PERMISSION_DENIED, "verify",
                  "does not verify");
  }
  // A byte of the signature.
  v1::SignedBundle tampered = good;
  (*tampered.mutable_signature())[10] ^= 0x80;
  ExpectRefused(tampered, grpc::StatusCode::PERMISSION_DENIED, "verify");
  // A truncated bundle.
  tampered = good;
  tampered.mutable_bundle()->pop_back();
  ExpectRefused(tampered, grpc::StatusCode::PERMISSION_DENIED, "verify");
}

TEST_F(PushTest, NonIncreasingVersionIsRefusedAtVersion) {
  // Equal to the active version (a different bundle), and lower.
  ExpectRefused(SalaryRemoved(kBase), grpc::StatusCode::FAILED_PRECONDITION,
                "version", "not greater than the active version 5");
  ExpectRefused(SalaryRemoved(kBase - 1), grpc::StatusCode::FAILED_PRECONDITION,
                "version", "not greater");
  ExpectRefused(SalaryRemoved(1), grpc::StatusCode::FAILED_PRECONDITION,
                "version");
  // Version 0 is a local dev compile, never pushed.
  ExpectRefused(SalaryRemoved(0), grpc::StatusCode::INVALID_ARGUMENT,
                "version");
}

TEST_F(PushTest, RetriedPushOfTheActiveBundleSucceedsAndChangesNothing) {
  const v1::SignedBundle six = SalaryRemoved(kBase + 1);
  v1::PushBundleResponse first;
  grpc::Status status = Push(*admin_, six, &first);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_FALSE(first.already_active());
  ExpectActive(kBase + 1, v1::EFFECT_DENY);

  // The answer was lost ("Socket closed"); CI pushes the same bytes again.
  v1::PushBundleResponse retried;
  status = Push(*admin_, six, &retried);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_TRUE(retried.already_active());
  EXPECT_EQ(retried.active().metadata().version(), kBase + 1);
  EXPECT_EQ(retried.activated_unix_micros(), first.activated_unix_micros());
  EXPECT_EQ(retried.active().stored_unix_micros(),
            first.active().stored_unix_micros());
  ExpectActive(kBase + 1, v1::EFFECT_DENY);
  absl::StatusOr<v1::ListBundlesResponse> list = ListBundles(*admin_);
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->bundles_size(), 2);

  // A different bundle under the active version is still refused.
  absl::StatusOr<v1::Bundle> other = AcmeBundle(kBase + 1);
  ASSERT_TRUE(other.ok()) << other.status();
  absl::StatusOr<v1::SignedBundle> signed_other = Sign(*other, key_);
  ASSERT_TRUE(signed_other.ok()) << signed_other.status();
  status = Push(*admin_, *signed_other);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << Describe(status);
  EXPECT_THAT(status.error_message(), HasSubstr("a different bundle"));

  // The same bytes as the older stored base: never activated by a push.
  absl::StatusOr<v1::Bundle> base = AcmeBundle(kBase);
  ASSERT_TRUE(base.ok()) << base.status();
  absl::StatusOr<v1::SignedBundle> signed_base = Sign(*base, key_);
  ASSERT_TRUE(signed_base.ok()) << signed_base.status();
  status = Push(*admin_, *signed_base);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << Describe(status);
  EXPECT_THAT(status.error_message(), HasSubstr("already stored but not active"));
  ExpectActive(kBase + 1, v1::EFFECT_DENY);

  // After an operator rolls back from it, a retry does not undo the rollback.
  v1::ActivateRequest request;
  request.set_version(kBase);
  v1::ActivateResponse activated;
  status = admin_->Activate(Deadline().get(), request, &activated);
  ASSERT_TRUE(status.ok()) << Describe(status);
  status = Push(*admin_, six);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS)
      << Describe(status);
  EXPECT_THAT(status.error_message(), HasSubstr("rolled back"));
  ExpectActive(kBase, v1::EFFECT_ALLOW);
}

TEST_F(PushTest, BundleThatDoesNotCompileIsRefusedAtCompile) {
  absl::StatusOr<v1::Bundle> bundle = AcmeBundle(kBase + 1);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  v1::Role* role = bundle->add_roles();
  role->set_id("contractor");
  role->add_inherits("no-such-role");
  role->add_tools("calendar.*");
  absl::StatusOr<v1::SignedBundle> signed_bundle = Sign(*bundle, key_);
  ASSERT_TRUE(signed_bundle.ok()) << signed_bundle.status();
  ExpectRefused(*signed_bundle, grpc::StatusCode::INVALID_ARGUMENT, "compile",
                "no-such-role");
}

TEST_F(PushTest, SignedBytesThatAreNotABundleAreRefusedAtParse) {
  absl::StatusOr<std::string> signature =
      SignEd25519(key_.pem.private_pem, "\xff\xff\xff not a protobuf");
  ASSERT_TRUE(signature.ok()) << signature.status();
  v1::SignedBundle bundle;
  bundle.set_bundle("\xff\xff\xff not a protobuf");
  bundle.set_signature(*signature);
  bundle.set_key_id(key_.id);
  ExpectRefused(bundle, grpc::StatusCode::INVALID_ARGUMENT, "parse");
}

TEST_F(PushTest, CallersWithoutAdminAreDenied) {
  for (const auto& channel : {gateway_, sync_}) {
    auto admin = v1::PolicyAdmin::NewStub(channel);
    grpc::Status status = Push(*admin, SalaryRemoved(kBase + 1));
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << Describe(status);
    EXPECT_EQ(GetStatus(*admin).status().code(),
              absl::StatusCode::kPermissionDenied);
    EXPECT_EQ(ListBundles(*admin).status().code(),
              absl::StatusCode::kPermissionDenied);
    v1::ActivateRequest request;
    request.set_version(kBase);
    v1::ActivateResponse response;
    EXPECT_EQ(admin->Activate(Deadline().get(), request, &response)
                  .error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  ExpectActive(kBase, v1::EFFECT_ALLOW);
}

TEST_F(PushTest, GoodPushChangesDecisionsAndActivateRollsBack) {
  const v1::SignedBundle next = SalaryRemoved(kBase + 1);
  v1::PushBundleResponse pushed;
  grpc::Status status = Push(*admin_, next, &pushed);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(pushed.active().metadata().version(), kBase + 1);
  EXPECT_EQ(pushed.active().key_id(), key_.id);
  EXPECT_EQ(pushed.active().size_bytes(), next.bundle().size());
  EXPECT_GT(pushed.activated_unix_micros(), 0);
  // The very next decision is the new version's.
  ExpectActive(kBase + 1, v1::EFFECT_DENY);
  absl::StatusOr<v1::Decision> denied =
      CheckDecision(*authorizer_, AllowedCheck());
  ASSERT_TRUE(denied.ok()) << denied.status();
  ASSERT_FALSE(denied->reasons().empty());
  EXPECT_EQ(denied->reasons(0).code(), v1::Reason::USER_NOT_PERMITTED)
      << denied->DebugString();

  absl::StatusOr<v1::GetStatusResponse> before = GetStatus(*admin_);
  ASSERT_TRUE(before.ok()) << before.status();

  // Explicit rollback to the base version.
  v1::ActivateRequest request;
  request.set_version(kBase);
  v1::ActivateResponse activated;
  status = admin_->Activate(Deadline().get(), request, &activated);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(activated.active().metadata().version(), kBase);
  EXPECT_GE(activated.activated_unix_micros(), before->activated_unix_micros());
  ExpectActive(kBase, v1::EFFECT_ALLOW);

  absl::StatusOr<v1::ListBundlesResponse> list = ListBundles(*admin_);
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->bundles_size(), 2);
  EXPECT_EQ(list->bundles(0).metadata().version(), kBase);
  EXPECT_EQ(list->bundles(1).metadata().version(), kBase + 1);
  EXPECT_EQ(list->bundles(1).size_bytes(), next.bundle().size());
  EXPECT_EQ(list->active_version(), kBase);

  // The rolled-back-from version is stored: pushing it again is refused
  // (it is greater than the active one, but already exists).
  status = Push(*admin_, next);
  EXPECT_TRUE(status.error_code() == grpc::StatusCode::ALREADY_EXISTS ||
              status.error_code() == grpc::StatusCode::FAILED_PRECONDITION)
      << Describe(status);
  EXPECT_THAT(status.error_message(), StartsWith("version: "));
  ExpectActive(kBase, v1::EFFECT_ALLOW);

  // Roll forward again, then an unknown version.
  request.set_version(kBase + 1);
  status = admin_->Activate(Deadline().get(), request, &activated);
  ASSERT_TRUE(status.ok()) << Describe(status);
  ExpectActive(kBase + 1, v1::EFFECT_DENY);
  request.set_version(kBase + 7);
  status = admin_->Activate(Deadline().get(), request, &activated);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND)
      << Describe(status);
  ExpectActive(kBase + 1, v1::EFFECT_DENY);

  // And a further push after a rollback goes on from there.
  status = Push(*admin_, SalaryRemoved(kBase + 2));
  ASSERT_TRUE(status.ok()) << Describe(status);
  ExpectActive(kBase + 2, v1::EFFECT_DENY);
}

}  // namespace
}  // namespace storetest
}  // namespace pdp
