// pdp.v1.Directory against the real server (in process, mTLS, RocksDB under
// TEST_TMPDIR): writes are seen by the very next check, directory users
// override the bundle's, deletes make a user unknown at once (even one the
// bundle lists: a tombstone stays until the next upsert), permissions
// and limits hold, and 100,000 users imported over gRPC decide correctly
// (also after a restart, from RocksDB with a cold cache).

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pdp/v1/authorizer.grpc.pb.h"
#include "pdp/v1/directory.grpc.pb.h"
#include "tests/server/test_server.h"
#include "tests/store/store_fixture.h"

namespace pdp {
namespace storetest {
namespace {

using servertest::AllowedCheck;
using servertest::Deadline;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

class DirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<StoreServer>> s = StoreServer::Create();
    ASSERT_TRUE(s.ok()) << s.status();
    s_ = *std::move(s);
    StartWithAcme(s_->Config());
  }

  // Starts with `config` and pushes Acme as version 1 if nothing is stored.
  void StartWithAcme(const server::ServerConfig& config) {
    absl::Status started = s_->Start(config);
    ASSERT_TRUE(started.ok()) << started;
    absl::StatusOr<v1::GetStatusResponse> status = GetStatus(s_->admin());
    ASSERT_TRUE(status.ok()) << status.status();
    if (status->has_active()) return;
    absl::StatusOr<v1::Bundle> acme = AcmeBundle(1);
    ASSERT_TRUE(acme.ok()) << acme.status();
    grpc::Status pushed = s_->PushBundle(*acme);
    ASSERT_TRUE(pushed.ok()) << Describe(pushed);
  }

  grpc::Status Upsert(const std::vector<v1::User>& users,
                      v1::Directory::Stub* stub = nullptr) {
    v1::UpsertUsersRequest request;
    for (const v1::User& user : users) *request.add_users() = user;
    v1::UpsertUsersResponse response;
    grpc::Status status =
        (stub != nullptr ? *stub : s_->directory())
            .UpsertUsers(Deadline(absl::Seconds(30)).get(), request,
                         &response);
    if (status.ok()) {
      EXPECT_EQ(response.upserted(), static_cast<int>(users.size()));
    }
    return status;
  }

  grpc::Status Delete(const std::vector<std::string>& ids, int* deleted,
                      v1::Directory::Stub* stub = nullptr) {
    v1::DeleteUsersRequest request;
    for (const std::string& id : ids) request.add_user_ids(id);
    v1::DeleteUsersResponse response;
    grpc::Status status = (stub != nullptr ? *stub : s_->directory())
                              .DeleteUsers(Deadline().get(), request,
                                           &response);
    *deleted = response.deleted();
    return status;
  }

  grpc::Status GetUser(const std::string& id, v1::User* user,
                       v1::Directory::Stub* stub = nullptr) {
    v1::GetUserRequest request;
    request.set_user_id(id);
    return (stub != nullptr ? *stub : s_->directory())
        .GetUser(Deadline().get(), request, user);
  }

  // AllowedCheck() (read a salary, mfa, acme-copilot) for `user_id`.
  v1::Decision SalaryCheck(const std::string& user_id) {
    v1::CheckRequest request = AllowedCheck();
    request.mutable_chain()->set_user_id(user_id);
    absl::StatusOr<v1::Decision> decision =
        CheckDecision(s_->authorizer(), request);
    EXPECT_TRUE(decision.ok()) << decision.status();
    return decision.ok() ? *decision : v1::Decision();
  }

  static std::vector<v1::Reason::Code> Codes(const v1::Decision& decision) {
    std::vector<v1::Reason::Code> codes;
    for (const v1::Reason& reason : decision.reasons()) {
      codes.push_back(reason.code());
    }
    return codes;
  }

  std::unique_ptr<StoreServer> s_;
};

TEST_F(DirectoryTest, UpsertThenCheckThenDeleteThenUnknown) {
  const std::string zoe = "zoe@acme.example";
  v1::Decision before = SalaryCheck(zoe);
  EXPECT_EQ(before.effect(), v1::EFFECT_DENY);
  EXPECT_THAT(Codes(before), UnorderedElementsAre(v1::Reason::USER_UNKNOWN));

  v1::User user = MakeUser(zoe, {"executive"});
  (*user.mutable_attributes())["department"] = "sales";
  grpc::Status status = Upsert({user});
  ASSERT_TRUE(status.ok()) << Describe(status);
  // The very next check sees her.
  v1::Decision allowed = SalaryCheck(zoe);
  EXPECT_EQ(allowed.effect(), v1::EFFECT_ALLOW) << allowed.DebugString();

  v1::User got;
  status = GetUser(zoe, &got);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(got.id(), zoe);
  EXPECT_THAT(got.roles(), UnorderedElementsAre("executive"));
  EXPECT_EQ(got.attributes().at("department"), "sales");

  // A change of roles is seen at once too.
  status = Upsert({MakeUser(zoe, {"employee"})});
  ASSERT_TRUE(status.ok()) << Describe(status);
  v1::Decision demoted = SalaryCheck(zoe);
  EXPECT_EQ(demoted.effect(), v1::EFFECT_DENY);
  EXPECT_THAT(Codes(demoted),
              UnorderedElementsAre(v1::Reason::USER_NOT_PERMITTED));

  int deleted = -1;
  status = Delete({zoe, zoe, "never-there@acme.example"}, &deleted);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(deleted, 1);
  v1::Decision unknown = SalaryCheck(zoe);
  EXPECT_EQ(unknown.effect(), v1::EFFECT_DENY);
  EXPECT_THAT(Codes(unknown), UnorderedElementsAre(v1::Reason::USER_UNKNOWN));

  status = GetUser(zoe, &got);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND)
      << Describe(status);
  EXPECT_THAT(status.error_message(), HasSubstr(zoe));
  status = GetUser("", &got);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(DirectoryTest, DirectoryUserOverridesTheBundleUser) {
  const std::string alice = "alice@acme.example";
  EXPECT_EQ(SalaryCheck(alice).effect(), v1::EFFECT_ALLOW);
  // A bundle user is not a directory user.
  v1::User got;
  EXPECT_EQ(GetUser(alice, &got).error_code(), grpc::StatusCode::NOT_FOUND);

  // Demoted by the directory: the directory wins.
  grpc::Status status = Upsert({MakeUser(alice, {"employee"})});
  ASSERT_TRUE(status.ok()) << Describe(status);
  v1::Decision demoted = SalaryCheck(alice);
  EXPECT_EQ(demoted.effect(), v1::EFFECT_DENY);
  EXPECT_THAT(Codes(demoted),
              UnorderedElementsAre(v1::Reason::USER_NOT_PERMITTED));

  // No roles at all in the directory: still the directory's (no grants).
  status = Upsert({MakeUser(alice, {})});
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(SalaryCheck(alice).effect(), v1::EFFECT_DENY);

  // Upserted again with the bundle's roles: allowed again.
  status = Upsert({MakeUser(alice, {"executive"})});
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(SalaryCheck(alice).effect(), v1::EFFECT_ALLOW);

  // Directory users survive a new bundle version.
  status = Upsert({MakeUser(alice, {"employee"})});
  ASSERT_TRUE(status.ok()) << Describe(status);
  absl::StatusOr<v1::Bundle> two = AcmeBundle(2);
  ASSERT_TRUE(two.ok()) << two.status();
  status = s_->PushBundle(*two);
  ASSERT_TRUE(status.ok()) << Describe(status);
  v1::Decision after_push = SalaryCheck(alice);
  EXPECT_EQ(after_push.effect(), v1::EFFECT_DENY);
  EXPECT_EQ(after_push.policy_version(), "2");
}

// DESIGN §2, "the directory revokes": a user the bundle's `users:` lists
// is unknown once deleted from the directory, until upserted again.
TEST_F(DirectoryTest, DeletingRevokesAUserTheBundleListsUntilUpserted) {
  const std::string bob = "bob@acme.example";  // Bundle: roles [sales].
  auto contacts_check = [&] {
    v1::CheckRequest request = AllowedCheck();
    request.mutable_chain()->set_user_id(bob);
    request.mutable_chain()->clear_scopes();
    request.mutable_chain()->add_scopes("contacts:read");
    request.set_tool_id("crm.search_contacts");
    absl::StatusOr<v1::Decision> decision =
        CheckDecision(s_->authorizer(), request);
    EXPECT_TRUE(decision.ok()) << decision.status();
    return decision.ok() ? *decision : v1::Decision();
  };
  v1::Decision from_bundle = contacts_check();
  ASSERT_EQ(from_bundle.effect(), v1::EFFECT_ALLOW)
      << from_bundle.DebugString();

  grpc::Status status = Upsert({MakeUser(bob, {"sales"})});
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(contacts_check().effect(), v1::EFFECT_ALLOW);
  int deleted = -1;
  status = Delete({bob}, &deleted);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(deleted, 1);
  v1::Decision revoked = contacts_check();
  EXPECT_EQ(revoked.effect(), v1::EFFECT_DENY);
  EXPECT_THAT(Codes(revoked), UnorderedElementsAre(v1::Reason::USER_UNKNOWN));
  v1::User got;
  status = GetUser(bob, &got);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND)
      << Describe(status);
  EXPECT_THAT(status.error_message(),
              HasSubstr("user \"bob@acme.example\" was deleted from the "
                        "directory"));

  // Also after a restart (a cold cache: the tombstone is in RocksDB).
  StartWithAcme(s_->Config());
  EXPECT_THAT(Codes(contacts_check()),
              UnorderedElementsAre(v1::Reason::USER_UNKNOWN));

  // Upserted again: known again.
  status = Upsert({MakeUser(bob, {"sales"})});
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(contacts_check().effect(), v1::EFFECT_ALLOW);
  status = GetUser(bob, &got);
  ASSERT_TRUE(status.ok()) << Describe(status);

  // Deleting an id the directory never held revokes it too.
  status = Delete({"alice@acme.example"}, &deleted);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(deleted, 0);
  EXPECT_THAT(Codes(SalaryCheck("alice@acme.example")),
              UnorderedElementsAre(v1::Reason::USER_UNKNOWN));
}

TEST_F(DirectoryTest, CallersWithoutDirectoryAreDenied) {
  for (const auto& channel : {s_->gateway(), s_->ci()}) {
    auto stub = v1::Directory::NewStub(channel);
    grpc::Status status =
        Upsert({MakeUser("eve@acme.example", {"admin"})}, stub.get());
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << Describe(status);
    int deleted = 0;
    status = Delete({"alice@acme.example"}, &deleted, stub.get());
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    v1::User got;
    status = GetUser("alice@acme.example", &got, stub.get());
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  v1::User got;
  EXPECT_EQ(GetUser("eve@acme.example", &got).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(SalaryCheck("alice@acme.example").effect(), v1::EFFECT_ALLOW);
}

TEST_F(DirectoryTest, OverTheLimitIsResourceExhaustedAndWritesNothing) {
  server::ServerConfig config = s_->Config();
  config.limits.max_directory_users = 50;
  StartWithAcme(config);

  std::vector<v1::User> users;
  std::vector<std::string> ids;
  for (int i = 0; i < 51; ++i) {
    ids.push_back(absl::StrCat("limit-", i, "@acme.example"));
    users.push_back(MakeUser(ids.back(), {"executive"}));
  }
  grpc::Status status = Upsert(users);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << Describe(status);
  EXPECT_THAT(status.error_message(), HasSubstr("max_directory_users"));
  v1::User got;
  EXPECT_EQ(GetUser(ids[0], &got).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(SalaryCheck(ids[0]).effect(), v1::EFFECT_DENY);

  // At the limit is fine.
  users.pop_back();
  status = Upsert(users);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(SalaryCheck(ids[0]).effect(), v1::EFFECT_ALLOW);

  int deleted = 0;
  status = Delete(ids, &deleted);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << Describe(status);
  EXPECT_EQ(SalaryCheck(ids[0]).effect(), v1::EFFECT_ALLOW);

  // A user without an id refuses the whole batch.
  users = {MakeUser("limit-new@acme.example", {"executive"}),
           MakeUser("", {"executive"})};
  status = Upsert(users);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("users[1].id"));
  EXPECT_EQ(GetUser("limit-new@acme.example", &got).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // So does an empty id among those to delete: nothing is deleted.
  status = Delete({ids[0], ""}, &deleted);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << Describe(status);
  EXPECT_THAT(status.error_message(), HasSubstr("user_ids[1] is empty"));
  EXPECT_EQ(SalaryCheck(ids[0]).effect(), v1::EFFECT_ALLOW);
}

// The role of bulk user `i`: executives and hr may read a salary, sales
// may not.
std::string BulkRole(int i) {
  switch (i % 3) {
    case 0:
      return "executive";
    case 1:
      return "sales";
    default:
      return "hr";
  }
}

std::string BulkId(int i) { return absl::StrFormat("user-%06d@bulk.example", i); }

TEST_F(DirectoryTest, HundredThousandUsersImportedAndCheckedCorrectly) {
  constexpr int kUsers = 100000;
  constexpr int kBatch = 10000;  // limits.max_directory_users
  const absl::Time start = absl::Now();
  for (int first = 0; first < kUsers; first += kBatch) {
    std::vector<v1::User> users;
    users.reserve(kBatch);
    for (int i = first; i < first + kBatch; ++i) {
      users.push_back(MakeUser(BulkId(i), {BulkRole(i)}));
    }
    grpc::Status status = Upsert(users);
    ASSERT_TRUE(status.ok()) << "batch at " << first << ": "
                             << Describe(status);
  }
  const absl::Duration import = absl::Now() - start;

  // Every user, through BatchCheck (1,000 a call), plus an unknown one in
  // each batch. Executives and hr may read a salary; sales may not.
  auto check_all = [&](int step) {
    constexpr int kPerCall = 999;
    for (int first = 0; first < kUsers; first += kPerCall * step) {
      v1::BatchCheckRequest request;
      std::vector<int> index;
      for (int i = first; i < kUsers && index.size() < kPerCall; i += step) {
        v1::CheckRequest* check = request.add_checks();
        *check = AllowedCheck();
        check->mutable_chain()->set_user_id(BulkId(i));
        index.push_back(i);
      }
      v1::CheckRequest* unknown = request.add_checks();
      *unknown = AllowedCheck();
      unknown->mutable_chain()->set_user_id(BulkId(kUsers + first));
      v1::BatchCheckResponse response;
      grpc::Status status = s_->authorizer().BatchCheck(
          Deadline(absl::Seconds(30)).get(), request, &response);
      ASSERT_TRUE(status.ok()) << Describe(status);
      ASSERT_EQ(response.decisions_size(), request.checks_size());
      for (size_t k = 0; k < index.size(); ++k) {
        const v1::Decision& d = response.decisions(static_cast<int>(k));
        const v1::Effect want =
            BulkRole(index[k]) == "sales" ? v1::EFFECT_DENY : v1::EFFECT_ALLOW;
        ASSERT_EQ(d.effect(), want)
            << BulkId(index[k]) << " (" << BulkRole(index[k]) << "): "
            << d.DebugString();
        if (want == v1::EFFECT_DENY) {
          ASSERT_THAT(Codes(d),
                      UnorderedElementsAre(v1::Reason::USER_NOT_PERMITTED));
        }
      }
      const v1::Decision& d = response.decisions(request.checks_size() - 1);
      ASSERT_EQ(d.effect(), v1::EFFECT_DENY);
      ASSERT_THAT(Codes(d), UnorderedElementsAre(v1::Reason::USER_UNKNOWN));
    }
  };
  check_all(/*step=*/1);
  if (HasFatalFailure()) return;

  // GetUser on a sample.
  for (int i = 0; i < kUsers; i += 9973) {
    v1::User got;
    grpc::Status status = GetUser(BulkId(i), &got);
    ASSERT_TRUE(status.ok()) << BulkId(i) << ": " << Describe(status);
    EXPECT_THAT(got.roles(), UnorderedElementsAre(BulkRole(i)));
  }
  // A sync worker upserts the first batch again: still kUsers users.
  {
    std::vector<v1::User> users;
    for (int i = 0; i < kBatch; ++i) {
      users.push_back(MakeUser(BulkId(i), {BulkRole(i)}));
    }
    grpc::Status again = Upsert(users);
    ASSERT_TRUE(again.ok()) << Describe(again);
  }
  absl::StatusOr<v1::GetStatusResponse> status = GetStatus(s_->admin());
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->directory_users(), static_cast<uint64_t>(kUsers))
      << "an exact count, not RocksDB's estimate";

  // After a restart the users come from RocksDB (a cold cache): a sample.
  StartWithAcme(s_->Config());
  check_all(/*step=*/97);
  // The count is exact across deletes (of users, twice, and of ids never
  // there) and a restart.
  int deleted = 0;
  grpc::Status removed =
      Delete({BulkId(1), BulkId(2), BulkId(1), "never@bulk.example"}, &deleted);
  ASSERT_TRUE(removed.ok()) << Describe(removed);
  EXPECT_EQ(deleted, 2);
  StartWithAcme(s_->Config());
  status = GetStatus(s_->admin());
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->directory_users(), static_cast<uint64_t>(kUsers - 2));
  std::cerr << "imported " << kUsers << " users in " << import << "; total "
            << (absl::Now() - start) << "\n";
}

}  // namespace
}  // namespace storetest
}  // namespace pdp
