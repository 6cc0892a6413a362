#include "tools/pdp_bench/load.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpcpp/security/server_credentials.h"
#include "gtest/gtest.h"
#include "pdp/compiler.h"
#include "tests/testing/test_certs.h"
#include "tools/pdp_bench/null_server.h"
#include "tools/pdp_bench/report.h"
#include "tools/pdp_bench/request_mix.h"
#include "tools/pdp_bench/transport.h"

namespace pdp_bench {
namespace {

using ::testing::HasSubstr;

constexpr char kPolicy[] = R"(
tools:
  - id: crm.search_contacts
    scopes: [contacts:read]
  - id: crm.update_contact
    scopes: [contacts:write]
  - id: hr.get_salary
    auth: mfa
roles:
  - id: sales
    tools: ["crm.*"]
  - id: executive
    inherits: [sales]
    tools: ["hr.*"]
agents:
  - id: sales-assistant
    tools: ["crm.*"]
clients:
  - id: desktop
    trust: standard
    scopes: [contacts:read, contacts:write]
services:
  - id: sync-worker
    tools: ["crm.update_contact"]
    scopes: [contacts:write]
users:
  - id: alice@acme.example
    roles: [executive]
)";

std::string TempDir() { return std::getenv("TEST_TMPDIR"); }

std::shared_ptr<const pdp::Snapshot> CompilePolicy() {
  const std::filesystem::path dir =
      std::filesystem::path(TempDir()) / "load_policy";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "policy.yaml") << kPolicy;
  auto snapshot = pdp::Compiler::CompileDirectory(dir.string());
  EXPECT_TRUE(snapshot.ok()) << snapshot.status();
  return snapshot.ok() ? *snapshot : nullptr;
}

RequestMix DrawMix(const pdp::Snapshot& snapshot, Mix kind, int batch = 10) {
  RequestMixOptions options;
  options.mix = kind;
  options.batch_size = batch;
  absl::StatusOr<RequestMix> mix = RequestMix::Draw(snapshot, options);
  EXPECT_TRUE(mix.ok()) << mix.status();
  return *std::move(mix);
}

void ExpectMonotonic(const LatencySummary& l) {
  EXPECT_GT(l.p50_us, 0);
  EXPECT_LE(l.p50_us, l.p90_us);
  EXPECT_LE(l.p90_us, l.p99_us);
  EXPECT_LE(l.p99_us, l.p999_us);
  EXPECT_LE(l.p999_us, l.max_us);
}

LoadOptions ShortLoad(absl::Duration duration) {
  LoadOptions options;
  options.channels = 2;
  options.inflight = 8;  // 2 channels x 4 in flight.
  options.duration = duration;
  options.warmup = absl::Milliseconds(200);
  return options;
}

TEST(LoadTest, MixedLoadAgainstThePlaintextNullServer) {
  auto snapshot = CompilePolicy();
  ASSERT_NE(snapshot, nullptr);
  const RequestMix mix = DrawMix(*snapshot, Mix::kMixed);
  auto server =
      NullServer::Start({"127.0.0.1:0", grpc::InsecureServerCredentials(), 20});
  ASSERT_TRUE(server.ok()) << server.status();
  auto transport = MakeClientTransport(/*insecure=*/true, {});
  ASSERT_TRUE(transport.ok()) << transport.status();

  absl::StatusOr<LoadResult> result =
      RunLoad(absl::StrCat("127.0.0.1:", (*server)->port()), *transport, mix,
              ShortLoad(absl::Seconds(1)));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->channels, 2);
  EXPECT_EQ(result->inflight, 8);
  EXPECT_GT(result->requests, 0);
  EXPECT_EQ(result->error_count(), 0);
  EXPECT_TRUE(result->errors.empty());
  EXPECT_EQ(result->ok, result->requests);
  EXPECT_EQ(result->latency.count, result->ok);
  EXPECT_DOUBLE_EQ(result->throughput_rps,
                   static_cast<double>(result->ok) / result->duration_s);
  ExpectMonotonic(result->latency);
  EXPECT_GT(result->process_cpu_us_per_request, 0);
  // The null server allows every check and shows 20 tools per filter.
  EXPECT_GT(result->decisions, 0);
  EXPECT_EQ(result->effects.size(), 1u);
  EXPECT_EQ(result->effects.at("ALLOW"), result->decisions);
  EXPECT_GT(result->filter_calls, 0);
  EXPECT_EQ(result->decisions + result->filter_calls, result->ok);
  EXPECT_EQ(result->visible_tools, 20 * result->filter_calls);

  const nlohmann::json json = ResultJson(*result, 0);
  EXPECT_EQ(json["requests"], result->requests);
  EXPECT_EQ(json["error_count"], 0);
  EXPECT_EQ(json["latency_us"]["p99"], result->latency.p99_us);
  EXPECT_FALSE(json.contains("checks_per_s"));
  EXPECT_THAT(FormatResult(*result, 0), HasSubstr("p99.9"));
  EXPECT_DOUBLE_EQ(PercentOfNull(*result, *result), 100);
}

TEST(LoadTest, BatchCheckGetsOneDecisionPerCheck) {
  auto snapshot = CompilePolicy();
  ASSERT_NE(snapshot, nullptr);
  const RequestMix mix = DrawMix(*snapshot, Mix::kBatch, /*batch=*/5);
  auto server =
      NullServer::Start({"127.0.0.1:0", grpc::InsecureServerCredentials(), 20});
  ASSERT_TRUE(server.ok()) << server.status();
  auto transport = MakeClientTransport(/*insecure=*/true, {});
  ASSERT_TRUE(transport.ok());
  LoadOptions options = ShortLoad(absl::Milliseconds(300));
  options.channels = 1;
  options.inflight = 2;
  auto result = RunLoad(absl::StrCat("127.0.0.1:", (*server)->port()),
                        *transport, mix, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_GT(result->ok, 0);
  EXPECT_EQ(result->error_count(), 0);
  EXPECT_EQ(result->decisions, 5 * result->ok);
  EXPECT_EQ(ResultJson(*result, 5)["checks_per_s"], result->throughput_rps * 5);
}

TEST(LoadTest, MutualTlsWithServerNameOverride) {
  auto ca = pdp::testcerts::TestCa::Create("pdp_bench test CA");
  ASSERT_TRUE(ca.ok()) << ca.status();
  pdp::testcerts::IssueOptions server_options;
  server_options.common_name = "pdp.test";
  server_options.dns_sans = {"pdp.test"};
  server_options.server = true;
  auto server_cert = ca->Issue(server_options);
  ASSERT_TRUE(server_cert.ok()) << server_cert.status();
  pdp::testcerts::IssueOptions client_options;
  client_options.uri_sans = {"spiffe://acme.example/bench"};
  client_options.client = true;
  auto client_cert = ca->Issue(client_options);
  ASSERT_TRUE(client_cert.ok()) << client_cert.status();
  const std::string dir = TempDir();
  const std::string ca_file = dir + "/ca.pem";
  ASSERT_TRUE(pdp::testcerts::WriteFile(ca_file, ca->cert_pem()).ok());
  ASSERT_TRUE(
      pdp::testcerts::WriteFile(dir + "/server.pem", server_cert->cert_pem)
          .ok());
  ASSERT_TRUE(
      pdp::testcerts::WriteFile(dir + "/server.key", server_cert->key_pem)
          .ok());
  ASSERT_TRUE(
      pdp::testcerts::WriteFile(dir + "/client.pem", client_cert->cert_pem)
          .ok());
  ASSERT_TRUE(
      pdp::testcerts::WriteFile(dir + "/client.key", client_cert->key_pem)
          .ok());

  auto server_credentials = MakeServerCredentials(
      /*insecure=*/false, {dir + "/server.pem", dir + "/server.key", ca_file});
  ASSERT_TRUE(server_credentials.ok()) << server_credentials.status();
  auto server = NullServer::Start({"127.0.0.1:0", *server_credentials, 3});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string target = absl::StrCat("127.0.0.1:", (*server)->port());

  auto snapshot = CompilePolicy();
  ASSERT_NE(snapshot, nullptr);
  const RequestMix mix = DrawMix(*snapshot, Mix::kFilter);
  LoadOptions options = ShortLoad(absl::Milliseconds(300));
  options.connect_timeout = absl::Seconds(3);

  auto transport = MakeClientTransport(
      /*insecure=*/false,
      {ca_file, dir + "/client.pem", dir + "/client.key", "pdp.test"});
  ASSERT_TRUE(transport.ok()) << transport.status();
  EXPECT_TRUE(CheckConnect(target, *transport, absl::Seconds(3)).ok());
  auto result = RunLoad(target, *transport, mix, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_GT(result->ok, 0);
  EXPECT_EQ(result->error_count(), 0);
  EXPECT_EQ(result->visible_tools, 3 * result->filter_calls);

  // Without a client certificate no call gets through.
  auto no_cert =
      MakeClientTransport(/*insecure=*/false, {ca_file, "", "", "pdp.test"});
  ASSERT_TRUE(no_cert.ok()) << no_cert.status();
  options.connect_timeout = absl::Seconds(1);
  auto refused = RunLoad(target, *no_cert, mix, options);
  if (refused.ok()) {
    EXPECT_EQ(refused->ok, 0);
  } else {
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  }
}

TEST(LoadTest, UnreachableTargetIsUnavailable) {
  auto snapshot = CompilePolicy();
  ASSERT_NE(snapshot, nullptr);
  const RequestMix mix = DrawMix(*snapshot, Mix::kCheck);
  int port = 0;
  {
    auto server = NullServer::Start(
        {"127.0.0.1:0", grpc::InsecureServerCredentials(), 1});
    ASSERT_TRUE(server.ok()) << server.status();
    port = (*server)->port();
  }
  auto transport = MakeClientTransport(/*insecure=*/true, {});
  ASSERT_TRUE(transport.ok());
  LoadOptions options = ShortLoad(absl::Milliseconds(100));
  options.connect_timeout = absl::Milliseconds(300);
  const std::string target = absl::StrCat("127.0.0.1:", port);
  auto result = RunLoad(target, *transport, mix, options);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(CheckConnect(target, *transport, absl::Milliseconds(300)).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_THAT(result.status().message(), HasSubstr(target));
}

TEST(TransportTest, UnreadableFilesNameTheFlag) {
  auto client = MakeClientTransport(false, {"/nonexistent/ca.pem", "", "", ""});
  EXPECT_EQ(client.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(client.status().message(), HasSubstr("--ca: cannot read"));
  auto server = MakeServerCredentials(
      false, {"/nonexistent/s.pem", "/nonexistent/s.key", "/nonexistent/c"});
  EXPECT_EQ(server.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(server.status().message(), HasSubstr("--server-cert"));
}

TEST(StatusCodeNameTest, Names) {
  EXPECT_EQ(StatusCodeName(0), "OK");
  EXPECT_EQ(StatusCodeName(7), "PERMISSION_DENIED");
  EXPECT_EQ(StatusCodeName(14), "UNAVAILABLE");
  EXPECT_EQ(StatusCodeName(16), "UNAUTHENTICATED");
  EXPECT_EQ(StatusCodeName(99), "CODE_99");
}

}  // namespace
}  // namespace pdp_bench
