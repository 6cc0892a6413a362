// Startup from the store, with the real server in process: a restarted
// server serves the last active version at once without a policy; with
// neither store content nor a policy it fails closed; a policy only
// bootstraps an empty store unless policy_overrides_store; a store whose
// active bundle no longer verifies fails closed instead of falling back to
// the policy directory.

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pdp/v1/admin.grpc.pb.h"
#include "pdp/v1/authorizer.grpc.pb.h"
#include "tests/server/test_server.h"
#include "tests/store/store_fixture.h"

namespace pdp {
namespace storetest {
namespace {

using servertest::AllowedCheck;
using servertest::HealthCheck;

constexpr int kServing = 1;
constexpr int kNotServing = 2;

class StartupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<StoreServer>> s = StoreServer::Create();
    ASSERT_TRUE(s.ok()) << s.status();
    s_ = *std::move(s);
  }

  // Pushes Acme as version 1 (AllowedCheck() allowed) and version 2 without
  // hr.get_salary for executives (AllowedCheck() denied).
  void PushOneAndTwo() {
    absl::StatusOr<v1::Bundle> one = AcmeBundle(1);
    ASSERT_TRUE(one.ok()) << one.status();
    grpc::Status status = s_->PushBundle(*one);
    ASSERT_TRUE(status.ok()) << Describe(status);
    absl::StatusOr<v1::Bundle> two = AcmeBundle(2);
    ASSERT_TRUE(two.ok()) << two.status();
    ASSERT_TRUE(RemoveRoleTool(&*two, "executive", "hr.get_salary"));
    status = s_->PushBundle(*two);
    ASSERT_TRUE(status.ok()) << Describe(status);
  }

  // Health is SERVING, AllowedCheck() gets `effect` from `policy_version`,
  // and GetStatus reports `stored_version` active (0: none).
  void ExpectServing(const std::string& policy_version, v1::Effect effect,
                     uint64_t stored_version) {
    for (const char* service : {"", "pdp.v1.Authorizer"}) {
      absl::StatusOr<int> health = HealthCheck(s_->gateway(), service);
      ASSERT_TRUE(health.ok()) << health.status();
      EXPECT_EQ(*health, kServing) << "service \"" << service << "\"";
    }
    absl::StatusOr<v1::Decision> decision =
        CheckDecision(s_->authorizer(), AllowedCheck());
    ASSERT_TRUE(decision.ok()) << decision.status();
    EXPECT_EQ(decision->effect(), effect) << decision->DebugString();
    if (absl::StartsWith(policy_version, "dev-")) {
      EXPECT_TRUE(absl::StartsWith(decision->policy_version(), "dev-"))
          << decision->policy_version();
    } else {
      EXPECT_EQ(decision->policy_version(), policy_version);
    }
    absl::StatusOr<v1::GetStatusResponse> status = GetStatus(s_->admin());
    ASSERT_TRUE(status.ok()) << status.status();
    EXPECT_TRUE(status->serving());
    EXPECT_EQ(status->active().metadata().version(), stored_version);
    EXPECT_EQ(status->policy_version(), decision->policy_version());
  }

  std::unique_ptr<StoreServer> s_;
};

TEST_F(StartupTest, RestartServesTheLastActiveVersionAtOnce) {
  ASSERT_TRUE(s_->Start().ok());
  PushOneAndTwo();
  ExpectServing("2", v1::EFFECT_DENY, 2);

  // No policy, no push: the store's active bundle is served from the start.
  s_->Stop();
  absl::Status started = s_->Start();
  ASSERT_TRUE(started.ok()) << started;
  ExpectServing("2", v1::EFFECT_DENY, 2);

  // A rollback survives a restart too.
  v1::ActivateRequest request;
  request.set_version(1);
  v1::ActivateResponse response;
  grpc::Status status = s_->admin().Activate(servertest::Deadline().get(),
                                             request, &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  ExpectServing("1", v1::EFFECT_ALLOW, 1);
  s_->Stop();
  started = s_->Start();
  ASSERT_TRUE(started.ok()) << started;
  ExpectServing("1", v1::EFFECT_ALLOW, 1);
  absl::StatusOr<v1::ListBundlesResponse> list = ListBundles(s_->admin());
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->bundles_size(), 2);
  EXPECT_EQ(list->active_version(), 1u);
}

TEST_F(StartupTest, NeitherStoreContentNorPolicyFailsClosed) {
  absl::Status started = s_->Start();
  ASSERT_TRUE(started.ok()) << started;
  for (const char* service : {"", "pdp.v1.Authorizer"}) {
    absl::StatusOr<int> health = HealthCheck(s_->gateway(), service);
    ASSERT_TRUE(health.ok()) << health.status();
    EXPECT_EQ(*health, kNotServing) << "service \"" << service << "\"";
  }
  absl::StatusOr<v1::Decision> decision =
      CheckDecision(s_->authorizer(), AllowedCheck());
  EXPECT_EQ(decision.status().code(), absl::StatusCode::kUnavailable)
      << (decision.ok() ? decision->DebugString()
                        : decision.status().ToString());
  absl::StatusOr<v1::GetStatusResponse> status = GetStatus(s_->admin());
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_FALSE(status->serving());
  EXPECT_FALSE(status->has_active());

  // A push is what brings it up.
  absl::StatusOr<v1::Bundle> one = AcmeBundle(1);
  ASSERT_TRUE(one.ok()) << one.status();
  grpc::Status pushed = s_->PushBundle(*one);
  ASSERT_TRUE(pushed.ok()) << Describe(pushed);
  ExpectServing("1", v1::EFFECT_ALLOW, 1);
}

TEST_F(StartupTest, PolicyBootstrapsAnEmptyStoreOnly) {
  server::ServerConfig config = s_->Config();
  config.policy = kAcme;
  absl::Status started = s_->Start(config);
  ASSERT_TRUE(started.ok()) << started;
  // Bootstrapped: decisions from the directory, nothing stored.
  ExpectServing("dev-", v1::EFFECT_ALLOW, 0);
  absl::StatusOr<v1::ListBundlesResponse> list = ListBundles(s_->admin());
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->bundles_size(), 0);
  EXPECT_EQ(list->active_version(), 0u);

  PushOneAndTwo();
  ExpectServing("2", v1::EFFECT_DENY, 2);

  // The store is no longer empty: the policy is ignored.
  started = s_->Start(config);
  ASSERT_TRUE(started.ok()) << started;
  ExpectServing("2", v1::EFFECT_DENY, 2);

  // Unless it explicitly overrides the store (development).
  config.policy_overrides_store = true;
  started = s_->Start(config);
  ASSERT_TRUE(started.ok()) << started;
  absl::StatusOr<v1::Decision> decision =
      CheckDecision(s_->authorizer(), AllowedCheck());
  ASSERT_TRUE(decision.ok()) << decision.status();
  EXPECT_EQ(decision->effect(), v1::EFFECT_ALLOW);
  EXPECT_TRUE(absl::StartsWith(decision->policy_version(), "dev-"))
      << decision->policy_version();

  // The store itself was left alone: without the override, 2 again.
  started = s_->Start(s_->Config());
  ASSERT_TRUE(started.ok()) << started;
  ExpectServing("2", v1::EFFECT_DENY, 2);
}

// Health for "" and "pdp.v1.Authorizer" is NOT_SERVING, AllowedCheck() is
// UNAVAILABLE with a message containing `why`, GetStatus says not serving.
void ExpectFailedClosed(StoreServer& s, const std::string& why) {
  for (const char* service : {"", "pdp.v1.Authorizer"}) {
    absl::StatusOr<int> health = HealthCheck(s.gateway(), service);
    ASSERT_TRUE(health.ok()) << health.status();
    EXPECT_EQ(*health, kNotServing) << "service \"" << service << "\"";
  }
  absl::StatusOr<v1::Decision> decision =
      CheckDecision(s.authorizer(), AllowedCheck());
  EXPECT_EQ(decision.status().code(), absl::StatusCode::kUnavailable)
      << (decision.ok() ? decision->DebugString()
                        : decision.status().ToString());
  EXPECT_TRUE(absl::StrContains(decision.status().message(), why))
      << decision.status();
  absl::StatusOr<v1::GetStatusResponse> status = GetStatus(s.admin());
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_FALSE(status->serving());
}

TEST_F(StartupTest, UnverifiableStoreFailsClosedInsteadOfServingThePolicy) {
  ASSERT_TRUE(s_->Start().ok());
  PushOneAndTwo();
  ExpectServing("2", v1::EFFECT_DENY, 2);

  // The signing key is no longer trusted (another one is), and the config
  // also names a policy directory, which would ALLOW what v2 denies.
  absl::StatusOr<SigningKey> other = NewSigningKey();
  ASSERT_TRUE(other.ok()) << other.status();
  server::ServerConfig config = s_->Config();
  config.trusted_keys = {{other->id, other->public_key_file}};
  config.policy = kAcme;
  absl::Status started = s_->Start(config);
  ASSERT_TRUE(started.ok()) << started;
  ExpectFailedClosed(*s_, "the stored active bundle v2 does not verify");
  if (HasFatalFailure()) return;

  // A push signed by a trusted key repairs it.
  absl::StatusOr<v1::Bundle> three = AcmeBundle(3);
  ASSERT_TRUE(three.ok()) << three.status();
  ASSERT_TRUE(RemoveRoleTool(&*three, "executive", "hr.get_salary"));
  absl::StatusOr<v1::SignedBundle> signed_three = Sign(*three, *other);
  ASSERT_TRUE(signed_three.ok()) << signed_three.status();
  grpc::Status pushed = Push(s_->admin(), *signed_three);
  ASSERT_TRUE(pushed.ok()) << Describe(pushed);
  ExpectServing("3", v1::EFFECT_DENY, 3);
}

TEST_F(StartupTest, UnverifiableStoreIsRepairedByActivate) {
  // v1 signed by the fixture's key, v2 by a second key; both trusted.
  absl::StatusOr<SigningKey> second = NewSigningKey();
  ASSERT_TRUE(second.ok()) << second.status();
  server::ServerConfig both = s_->Config();
  both.trusted_keys.push_back({second->id, second->public_key_file});
  ASSERT_TRUE(s_->Start(both).ok());
  absl::StatusOr<v1::Bundle> one = AcmeBundle(1);
  ASSERT_TRUE(one.ok()) << one.status();
  grpc::Status status = s_->PushBundle(*one);
  ASSERT_TRUE(status.ok()) << Describe(status);
  absl::StatusOr<v1::Bundle> two = AcmeBundle(2);
  ASSERT_TRUE(two.ok()) << two.status();
  ASSERT_TRUE(RemoveRoleTool(&*two, "executive", "hr.get_salary"));
  absl::StatusOr<v1::SignedBundle> signed_two = Sign(*two, *second);
  ASSERT_TRUE(signed_two.ok()) << signed_two.status();
  status = Push(s_->admin(), *signed_two);
  ASSERT_TRUE(status.ok()) << Describe(status);

  // The second key is withdrawn: v2 is not served, v1 is not either until
  // an operator activates it.
  absl::Status started = s_->Start();
  ASSERT_TRUE(started.ok()) << started;
  ExpectFailedClosed(*s_, "the stored active bundle v2 does not verify");
  v1::ActivateRequest request;
  request.set_version(1);
  v1::ActivateResponse response;
  status = s_->admin().Activate(servertest::Deadline().get(), request,
                                &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  ExpectServing("1", v1::EFFECT_ALLOW, 1);
}

TEST_F(StartupTest, PolicyOverridesAnUnverifiableStoreOnlyWhenConfigured) {
  ASSERT_TRUE(s_->Start().ok());
  PushOneAndTwo();
  absl::StatusOr<SigningKey> other = NewSigningKey();
  ASSERT_TRUE(other.ok()) << other.status();
  server::ServerConfig config = s_->Config();
  config.trusted_keys = {{other->id, other->public_key_file}};
  config.policy = kAcme;
  config.policy_overrides_store = true;
  absl::Status started = s_->Start(config);
  ASSERT_TRUE(started.ok()) << started;
  absl::StatusOr<v1::Decision> decision =
      CheckDecision(s_->authorizer(), AllowedCheck());
  ASSERT_TRUE(decision.ok()) << decision.status();
  EXPECT_EQ(decision->effect(), v1::EFFECT_ALLOW);
  EXPECT_TRUE(absl::StartsWith(decision->policy_version(), "dev-"))
      << decision->policy_version();
}

}  // namespace
}  // namespace storetest
}  // namespace pdp
