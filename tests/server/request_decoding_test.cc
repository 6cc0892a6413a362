// What callers send that the server must refuse before deciding anything,
// over real mTLS against the in-process server with a store (so that every
// service is served): request bodies that are no valid message (garbage,
// invalid UTF-8 in a string field) for every RPC of every pdp.v1 service,
// and ids longer than limits.max_id_bytes or lists longer than
// limits.max_list_entries.

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pdp/server/server.h"
#include "pdp/v1/admin.grpc.pb.h"
#include "pdp/v1/authorizer.grpc.pb.h"
#include "pdp/v1/directory.grpc.pb.h"
#include "tests/server/test_server.h"
#include "tests/testing/test_certs.h"

namespace pdp {
namespace servertest {
namespace {

using testcerts::KeyAndCert;

// Granted every permission by the test's config.
constexpr char kOperator[] = "spiffe://acme.example/operator";

void AppendVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Field `number`, length-delimited, holding `bytes`.
std::string LengthDelimited(int number, const std::string& bytes) {
  std::string out;
  AppendVarint(static_cast<uint64_t>(number) << 3 | 2, &out);
  AppendVarint(bytes.size(), &out);
  return out + bytes;
}

// The path ("chain.user_id") of the first string field reachable from
// `type` through singular or repeated message fields, and its encoding
// holding `value`; empty when `type` has none.
std::pair<std::string, std::string> FirstStringField(
    const google::protobuf::Descriptor& type, const std::string& value,
    int depth = 0) {
  if (depth > 4) return {};
  for (int i = 0; i < type.field_count(); ++i) {
    const google::protobuf::FieldDescriptor& field = *type.field(i);
    if (field.type() == google::protobuf::FieldDescriptor::TYPE_STRING) {
      return {field.name(), LengthDelimited(field.number(), value)};
    }
  }
  for (int i = 0; i < type.field_count(); ++i) {
    const google::protobuf::FieldDescriptor& field = *type.field(i);
    if (field.type() == google::protobuf::FieldDescriptor::TYPE_MESSAGE &&
        !field.is_map()) {
      auto [path, bytes] =
          FirstStringField(*field.message_type(), value, depth + 1);
      if (!path.empty()) {
        return {absl::StrCat(field.name(), field.is_repeated() ? "[0]" : "",
                             ".", path),
                LengthDelimited(field.number(), bytes)};
      }
    }
  }
  return {};
}

class RequestDecodingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TestPki> pki = TestPki::Create();
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = std::make_unique<TestPki>(*std::move(pki));
    absl::StatusOr<KeyAndCert> cert = pki_->Client(kOperator);
    ASSERT_TRUE(cert.ok()) << cert.status();
    operator_ = *std::move(cert);
    config_ = pki_->Config();
    config_.store.path = absl::StrCat(NewTempDir(), "/store");
    config_.decision_log.path = absl::StrCat(pki_->dir(), "/decisions.jsonl");
    config_.callers.push_back(
        {kOperator,
         {server::Permission::kCheck, server::Permission::kFilter,
          server::Permission::kAdmin, server::Permission::kDirectory,
          server::Permission::kAssertRoles}});
  }

  void StartServer() {
    absl::StatusOr<std::unique_ptr<server::PdpServer>> server =
        server::PdpServer::Start(config_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    channel_ =
        MtlsChannel(server_->port(), pki_->ca().cert_pem(), &operator_);
  }

  // Calls `method` ("/pdp.v1.Authorizer/Check") with `body` as the request's
  // bytes; the response is dropped.
  grpc::Status RawCall(const std::string& method, const std::string& body) {
    grpc::Slice slice(body);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    grpc::GenericStub stub(channel_);
    std::unique_ptr<grpc::ClientContext> context = Deadline();
    absl::Notification done;
    grpc::Status status;
    stub.UnaryCall(context.get(), method, grpc::StubOptions(), &request,
                   &response, [&](grpc::Status s) {
                     status = std::move(s);
                     done.Notify();
                   });
    done.WaitForNotification();
    return status;
  }

  std::unique_ptr<TestPki> pki_;
  KeyAndCert operator_;
  server::ServerConfig config_;
  std::unique_ptr<server::PdpServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

// Everything written to stderr while alive.
class StderrCapture {
 public:
  StderrCapture() {
    path_ = absl::StrCat(NewTempDir(), "/stderr");
    std::fflush(stderr);
    saved_ = dup(2);
    std::FILE* f = std::fopen(path_.c_str(), "w");
    dup2(fileno(f), 2);
    std::fclose(f);
  }
  std::string Stop() {
    if (saved_ >= 0) {
      std::fflush(stderr);
      dup2(saved_, 2);
      close(saved_);
      saved_ = -1;
    }
    absl::StatusOr<std::string> text = ReadFile(path_);
    return text.ok() ? *text : "";
  }
  ~StderrCapture() { Stop(); }

 private:
  std::string path_;
  int saved_ = -1;
};

TEST_F(RequestDecodingTest, UndecodableRequestsAreInvalidArgumentEverywhere) {
  StartServer();
  const google::protobuf::ServiceDescriptor* services[] = {
      v1::CheckRequest::descriptor()->file()->FindServiceByName("Authorizer"),
      v1::PushBundleRequest::descriptor()->file()->FindServiceByName(
          "PolicyAdmin"),
      v1::UpsertUsersRequest::descriptor()->file()->FindServiceByName(
          "Directory"),
  };
  // A field-1 varint that never ends, then a tag of field 0.
  const std::string garbage = "\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff";
  const std::string bad_utf8 = "al\xc3\x28ice";  // A broken 2-byte sequence.
  uint64_t sent = 0;
  StderrCapture capture;
  for (const google::protobuf::ServiceDescriptor* service : services) {
    ASSERT_NE(service, nullptr);
    for (int i = 0; i < service->method_count(); ++i) {
      const google::protobuf::MethodDescriptor& method = *service->method(i);
      const std::string name =
          absl::StrCat("/", service->full_name(), "/", method.name());
      const std::string type = method.input_type()->full_name();
      SCOPED_TRACE(name);
      for (int round = 0; round < 3; ++round) {
        grpc::Status status = RawCall(name, garbage);
        ++sent;
        EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
            << Describe(status);
        EXPECT_TRUE(absl::StrContains(
            status.error_message(),
            absl::StrCat("request body is not a valid ", type)))
            << Describe(status);
      }
      auto [path, body] = FirstStringField(*method.input_type(), bad_utf8);
      if (path.empty()) continue;  // No string field to spoil.
      grpc::Status status = RawCall(name, body);
      ++sent;
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
          << Describe(status);
      EXPECT_TRUE(absl::StrContains(status.error_message(), type))
          << Describe(status);
      EXPECT_TRUE(absl::StrContains(status.error_message(), path))
          << "names " << path << ": " << Describe(status);
      EXPECT_TRUE(absl::StrContains(status.error_message(), "UTF-8"))
          << Describe(status);
    }
  }
  const std::string printed = capture.Stop();
  // At most one line says so; nothing is printed per request.
  EXPECT_FALSE(absl::StrContains(printed, "libprotobuf")) << printed;
  EXPECT_LE(std::count(printed.begin(), printed.end(), '\n'), 1) << printed;

  // The server still decides, and counts what it could not decode.
  auto stub = v1::Authorizer::NewStub(channel_);
  v1::CheckResponse response;
  grpc::Status status =
      stub->Check(Deadline().get(), AllowedCheck(), &response);
  EXPECT_TRUE(status.ok()) << Describe(status);
  auto admin = v1::PolicyAdmin::NewStub(channel_);
  v1::GetStatusResponse server_status;
  status = admin->GetStatus(Deadline().get(), v1::GetStatusRequest(),
                            &server_status);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(server_status.undecodable_requests(), sent);
}

// Every RPC that takes ids, each with one id of 1 MiB.
TEST_F(RequestDecodingTest, OverlongIdsAreInvalidArgumentNamingTheField) {
  StartServer();
  const std::string huge(1 << 20, 'x');
  auto authorizer = v1::Authorizer::NewStub(channel_);
  auto admin = v1::PolicyAdmin::NewStub(channel_);
  auto directory = v1::Directory::NewStub(channel_);

  // Each call's status and the field it must name.
  std::vector<std::pair<grpc::Status, std::string>> results;
  auto chain_case = [&](const std::string& field,
                        void (*spoil)(v1::IdentityChain*, const std::string&)) {
    v1::CheckRequest check = AllowedCheck();
    spoil(check.mutable_chain(), huge);
    v1::CheckResponse response;
    results.emplace_back(
        authorizer->Check(Deadline().get(), check, &response),
        absl::StrCat("chain.", field));
  };
  chain_case("user_id",
             [](v1::IdentityChain* c, const std::string& v) { c->set_user_id(v); });
  chain_case("client_id", [](v1::IdentityChain* c, const std::string& v) {
    c->set_client_id(v);
  });
  chain_case("agent_id", [](v1::IdentityChain* c, const std::string& v) {
    c->set_agent_id(v);
  });
  chain_case("service_id", [](v1::IdentityChain* c, const std::string& v) {
    c->set_service_id(v);
  });
  chain_case("asserted_roles[0]",
             [](v1::IdentityChain* c, const std::string& v) {
               c->add_asserted_roles(v);
             });
  chain_case("scopes[1]", [](v1::IdentityChain* c, const std::string& v) {
    c->add_scopes(v);
  });
  chain_case("amr[2]",
             [](v1::IdentityChain* c, const std::string& v) { c->add_amr(v); });
  {
    v1::CheckRequest check = AllowedCheck();
    check.set_tool_id(huge);
    v1::CheckResponse response;
    results.emplace_back(authorizer->Check(Deadline().get(), check, &response),
                         "tool_id");
  }
  {
    v1::BatchCheckRequest batch;
    *batch.add_checks() = AllowedCheck();
    *batch.add_checks() = AllowedCheck();
    batch.mutable_checks(1)->mutable_chain()->set_user_id(huge);
    v1::BatchCheckResponse response;
    results.emplace_back(
        authorizer->BatchCheck(Deadline().get(), batch, &response),
        "checks[1].chain.user_id");
  }
  {
    v1::FilterToolsRequest filter;
    *filter.mutable_chain() = AllowedCheck().chain();
    filter.set_server_id(huge);
    v1::FilterToolsResponse response;
    results.emplace_back(
        authorizer->FilterTools(Deadline().get(), filter, &response),
        "server_id");
    filter.set_server_id("");
    filter.add_tool_ids("hr.get_salary");
    filter.add_tool_ids(huge);
    results.emplace_back(
        authorizer->FilterTools(Deadline().get(), filter, &response),
        "tool_ids[1]");
  }
  {
    v1::CheckClientRequestRequest request;
    request.set_client_id(huge);
    v1::CheckClientRequestResponse response;
    results.emplace_back(
        authorizer->CheckClientRequest(Deadline().get(), request, &response),
        "client_id");
  }
  {
    v1::ExplainRequest request;
    *request.mutable_check() = AllowedCheck();
    request.mutable_check()->mutable_chain()->set_user_id(huge);
    v1::ExplainResponse response;
    results.emplace_back(admin->Explain(Deadline().get(), request, &response),
                         "check.chain.user_id");
  }
  {
    v1::UpsertUsersRequest request;
    request.add_users()->set_id(huge);
    v1::UpsertUsersResponse response;
    results.emplace_back(
        directory->UpsertUsers(Deadline().get(), request, &response),
        "users[0].id");
    request.mutable_users(0)->set_id("bob@acme.example");
    request.mutable_users(0)->add_roles(huge);
    results.emplace_back(
        directory->UpsertUsers(Deadline().get(), request, &response),
        "users[0].roles[0]");
  }
  {
    v1::DeleteUsersRequest request;
    request.add_user_ids(huge);
    v1::DeleteUsersResponse response;
    results.emplace_back(
        directory->DeleteUsers(Deadline().get(), request, &response),
        "user_ids[0]");
  }
  {
    v1::GetUserRequest request;
    request.set_user_id(huge);
    v1::User response;
    results.emplace_back(
        directory->GetUser(Deadline().get(), request, &response), "user_id");
  }

  for (const auto& [status, field] : results) {
    SCOPED_TRACE(field);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << Describe(status);
    EXPECT_LT(status.error_message().size(), 1024u) << Describe(status);
    EXPECT_TRUE(absl::StrContains(status.error_message(), field))
        << Describe(status);
    EXPECT_TRUE(absl::StrContains(status.error_message(), "1048576 bytes"))
        << Describe(status);
    EXPECT_TRUE(absl::StrContains(status.error_message(), "limits.max_id_bytes"))
        << Describe(status);
  }

  // An id at the limit is fine.
  v1::CheckRequest check = AllowedCheck();
  check.mutable_chain()->set_user_id(std::string(256, 'u'));
  v1::CheckResponse response;
  grpc::Status status = authorizer->Check(Deadline().get(), check, &response);
  EXPECT_TRUE(status.ok()) << Describe(status);

  server_.reset();  // Drains the decision log.
  absl::StatusOr<std::string> log = ReadFile(config_.decision_log.path);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_LT(log->size(), 64u * 1024) << "a huge id reached the decision log";
  EXPECT_FALSE(absl::StrContains(*log, std::string(1024, 'x')));
}

TEST_F(RequestDecodingTest, LimitsAreConfigurable) {
  config_.limits.max_id_bytes = 20;
  config_.limits.max_list_entries = 3;
  StartServer();
  auto authorizer = v1::Authorizer::NewStub(channel_);
  v1::CheckRequest check = AllowedCheck();
  check.mutable_chain()->set_user_id(std::string(21, 'u'));
  v1::CheckResponse response;
  grpc::Status status = authorizer->Check(Deadline().get(), check, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << Describe(status);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "21 bytes"))
      << Describe(status);

  check = AllowedCheck();
  for (int i = 0; i < 4; ++i) check.mutable_chain()->add_scopes("s");
  status = authorizer->Check(Deadline().get(), check, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << Describe(status);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "chain.scopes"))
      << Describe(status);
  EXPECT_TRUE(
      absl::StrContains(status.error_message(), "limits.max_list_entries"))
      << Describe(status);
}

}  // namespace
}  // namespace servertest
}  // namespace pdp
