// The real pdp-server binary as a process: it serves mTLS from its config
// file and flags. SIGTERM starts the lame duck (health NOT_SERVING while
// calls, on old and new connections, are still answered; a second SIGTERM
// ends it early), then drains the calls in flight, writes every decision to
// the log and exits 0, after which nothing is accepted.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pdp/v1/authorizer.grpc.pb.h"
#include "tests/server/test_server.h"
#include "tests/testing/child_process.h"
#include "tests/testing/test_certs.h"

namespace pdp {
namespace servertest {
namespace {

using testcerts::KeyAndCert;

// The binary, relative to the test's working directory (the workspace root
// in runfiles).
constexpr char kServerBinary[] = "pdp/server/server";

using Child = ::pdp::testproc::ChildProcess;

constexpr int kServing = 1;
constexpr int kNotServing = 2;

// Starts the server binary on a free port of 127.0.0.1, over mTLS with the
// Acme policy (kGateway may check and filter), `pki`'s certificates and the
// extra flags `flags`, and waits (up to 20 s) for it to listen. The callers
// come from a config file, the rest from flags. Returns Internal with the server's output if it
// exits or does not listen in time.
absl::StatusOr<ServerProcess> StartServer(
    const TestPki& pki, const std::vector<std::string>& flags) {
  const std::string dir = NewTempDir();
  const std::string config_file = absl::StrCat(dir, "/server.yaml");
  const std::string port_file = absl::StrCat(dir, "/port");
  absl::Status written = testcerts::WriteFile(
      config_file, absl::StrCat("listen: 127.0.0.1:8443\n"
                                "callers:\n"
                                "  - identity: ",
                                kGateway,
                                "\n"
                                "    permissions: [check, filter]\n"));
  if (!written.ok()) return written;
  std::vector<std::string> argv = {
      kServerBinary,   "--config",          config_file,
      "--listen",      "127.0.0.1:0",       "--policy",
      "examples/policies/acme",             "--tls-cert",
      pki.cert_file(), "--tls-key",         pki.key_file(),
      "--tls-client-ca", pki.ca_file(),     "--port-file",
      port_file};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return SpawnServer(argv, port_file, absl::StrCat(dir, "/server.out"));
}

// Asks `channel` for the health of `service` until it reports `want`, for up
// to `timeout`. Returns the last answer (or error) seen.
absl::StatusOr<int> AwaitHealth(const std::shared_ptr<grpc::Channel>& channel,
                                const std::string& service, int want,
                                absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    absl::StatusOr<int> health = HealthCheck(channel, service);
    if ((health.ok() && *health == want) || absl::Now() > deadline) {
      return health;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
}

// The exit of a server after a signal: 0 within `timeout`.
void ExpectExitsZero(const ServerProcess& server, absl::Duration timeout) {
  ASSERT_TRUE(server.child->WaitFor(timeout))
      << "still running " << timeout << " after SIGTERM:\n"
      << server.Output();
  const int wait_status = server.child->wait_status();
  ASSERT_TRUE(WIFEXITED(wait_status))
      << "killed by signal " << WTERMSIG(wait_status) << ":\n"
      << server.Output();
  EXPECT_EQ(WEXITSTATUS(wait_status), 0) << server.Output();
}

// Whether a TCP connection to 127.0.0.1:`port` is accepted.
bool Accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok =
      connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  close(fd);
  return ok;
}

// Without a lame duck the drain starts at once.
TEST(SigtermTest, DrainsThenExitsZeroAndStopsAccepting) {
  absl::StatusOr<TestPki> pki = TestPki::Create();
  ASSERT_TRUE(pki.ok()) << pki.status();
  absl::StatusOr<KeyAndCert> gateway = pki->Client(kGateway);
  ASSERT_TRUE(gateway.ok()) << gateway.status();

  const std::string log_file = absl::StrCat(pki->dir(), "/decisions.jsonl");
  absl::StatusOr<ServerProcess> server = StartServer(
      *pki, {"--decision-log", log_file, "--lame-duck-seconds", "0"});
  ASSERT_TRUE(server.ok()) << server.status();
  ServerProcess& running = *server;
  const int port = running.port;
  auto server_output = [&] { return running.Output(); };
  const std::unique_ptr<Child>& child = running.child;

  const std::string& ca = pki->ca().cert_pem();
  // An idle channel of this process's synchronous client only reads (and so
  // acknowledges the server's graceful GOAWAY ping) when gRPC's backup
  // poller runs, every 5 s; the first calls' channel is closed before the
  // signal so that it does not stretch the drain.
  auto stub = v1::Authorizer::NewStub(MtlsChannel(port, ca, &*gateway));
  int decisions = 0;
  for (int i = 0; i < 10; ++i) {
    v1::CheckResponse response;
    grpc::Status status =
        stub->Check(Deadline().get(), AllowedCheck(), &response);
    ASSERT_TRUE(status.ok()) << Describe(status) << "\n" << server_output();
    EXPECT_EQ(response.decision().effect(), v1::EFFECT_ALLOW);
    ++decisions;
  }
  v1::FilterToolsRequest filter;
  *filter.mutable_chain() = AllowedCheck().chain();
  filter.set_server_id("hr");
  v1::FilterToolsResponse tools;
  grpc::Status status = stub->FilterTools(Deadline().get(), filter, &tools);
  ASSERT_TRUE(status.ok()) << Describe(status);
  ++decisions;
  stub.reset();

  // Calls keep coming on two connections while the signal arrives; each is
  // either answered (and logged) or refused undecided.
  constexpr int kLoaders = 2;
  std::atomic<int> answered{0};
  std::atomic<bool> stop{false};  // Set when the server does not go away.
  absl::Mutex mu;
  std::vector<grpc::Status> endings;  // The call that ended each loader.
  std::vector<std::thread> loaders;
  for (int t = 0; t < kLoaders; ++t) {
    loaders.emplace_back([&] {
      std::unique_ptr<v1::Authorizer::Stub> loader =
          v1::Authorizer::NewStub(MtlsChannel(port, ca, &*gateway));
      while (!stop.load()) {
        v1::CheckResponse response;
        grpc::Status s = loader->Check(Deadline(absl::Seconds(5)).get(),
                                       AllowedCheck(), &response);
        if (!s.ok()) {
          absl::MutexLock lock(&mu);
          endings.push_back(s);
          return;
        }
        answered.fetch_add(1);
      }
    });
  }
  const absl::Time load_deadline = absl::Now() + absl::Seconds(10);
  while (answered.load() < 50 && absl::Now() < load_deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_GE(answered.load(), 50) << "the load did not get going";

  EXPECT_EQ(kill(child->pid(), SIGTERM), 0);
  const absl::Time signalled = absl::Now();
  const bool exited = child->WaitFor(absl::Seconds(20));
  const absl::Duration drain = absl::Now() - signalled;
  stop.store(true);
  for (std::thread& loader : loaders) loader.join();
  ASSERT_TRUE(exited) << "still running 20 s after SIGTERM:\n"
                      << server_output();
  const int wait_status = child->wait_status();
  ASSERT_TRUE(WIFEXITED(wait_status))
      << "killed by signal " << WTERMSIG(wait_status) << ":\n"
      << server_output();
  EXPECT_EQ(WEXITSTATUS(wait_status), 0) << server_output();
  // Nothing was left to hang until the grace period (10 s) ran out.
  EXPECT_LT(drain, absl::Seconds(9)) << server_output();

  // A call the server had not yet matched to a handler when the drain began
  // is refused. gRPC core (1.51, still in 2026: grpc/grpc#41785) refuses it
  // as CANCELLED rather than UNAVAILABLE; either way it was not decided,
  // which the decision log count below confirms.
  for (const grpc::Status& ending : endings) {
    EXPECT_TRUE(ending.error_code() == grpc::StatusCode::UNAVAILABLE ||
                ending.error_code() == grpc::StatusCode::CANCELLED)
        << Describe(ending);
  }
  decisions += answered.load();

  // It no longer accepts: neither connections nor calls.
  EXPECT_FALSE(Accepts(port));
  std::unique_ptr<v1::Authorizer::Stub> late =
      v1::Authorizer::NewStub(MtlsChannel(port, ca, &*gateway));
  v1::CheckResponse response;
  status =
      late->Check(Deadline(absl::Seconds(5)).get(), AllowedCheck(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << Describe(status);

  // Every answered call was logged before the process exited.
  absl::StatusOr<std::string> log = ReadFile(log_file);
  ASSERT_TRUE(log.ok()) << log.status();
  const std::vector<absl::string_view> lines =
      absl::StrSplit(*log, '\n', absl::SkipEmpty());
  EXPECT_EQ(lines.size(), static_cast<size_t>(decisions))
      << "answered " << decisions << " decisions, logged " << lines.size();
}

// A replica being replaced still receives calls for a while after SIGTERM
// (endpoint lists update asynchronously). During the lame duck it reports
// NOT_SERVING for the server and the Authorizer, yet decides every call, on
// connections made before and after the signal; then it drains and exits 0.
TEST(SigtermTest, LameDuckReportsNotServingWhileStillAnswering) {
  absl::StatusOr<TestPki> pki = TestPki::Create();
  ASSERT_TRUE(pki.ok()) << pki.status();
  absl::StatusOr<KeyAndCert> gateway = pki->Client(kGateway);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  constexpr int kLameDuckSeconds = 2;
  absl::StatusOr<ServerProcess> server = StartServer(
      *pki,
      {"--lame-duck-seconds", absl::StrCat(kLameDuckSeconds), "--decision-log",
       absl::StrCat(pki->dir(), "/decisions.jsonl")});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string& ca = pki->ca().cert_pem();

  std::shared_ptr<grpc::Channel> before =
      MtlsChannel(server->port, ca, &*gateway);
  for (const std::string service : {"", "pdp.v1.Authorizer"}) {
    absl::StatusOr<int> health = HealthCheck(before, service);
    ASSERT_TRUE(health.ok()) << health.status();
    EXPECT_EQ(*health, kServing) << "service \"" << service << "\"";
  }

  ASSERT_EQ(kill(server->child->pid(), SIGTERM), 0);
  const absl::Time signalled = absl::Now();
  absl::StatusOr<int> health =
      AwaitHealth(before, "", kNotServing, absl::Seconds(kLameDuckSeconds));
  ASSERT_TRUE(health.ok()) << health.status() << "\n" << server->Output();
  ASSERT_EQ(*health, kNotServing) << server->Output();
  health = HealthCheck(before, "pdp.v1.Authorizer");
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, kNotServing);

  // Still decided: on the connection from before the signal, and on a new
  // one. (After the lame duck, calls would be refused: the drain accepts no
  // new ones.)
  std::shared_ptr<grpc::Channel> after =
      MtlsChannel(server->port, ca, &*gateway);
  for (const auto* channel : {&before, &after}) {
    v1::CheckResponse response;
    grpc::Status status = v1::Authorizer::NewStub(*channel)->Check(
        Deadline().get(), AllowedCheck(), &response);
    ASSERT_TRUE(status.ok()) << (channel == &before ? "old" : "new")
                             << " connection: " << Describe(status) << "\n"
                             << server->Output();
    EXPECT_EQ(response.decision().effect(), v1::EFFECT_ALLOW);
  }
  EXPECT_TRUE(server->child->running());
  // An idle channel would stretch the drain (see above).
  before.reset();
  after.reset();

  ExpectExitsZero(*server, absl::Seconds(20));
  // The lame duck ran its full length before the drain.
  EXPECT_GE(absl::Now() - signalled, absl::Seconds(kLameDuckSeconds));
  const std::string output = server->Output();
  EXPECT_TRUE(absl::StrContains(
      output, absl::StrCat("lame duck for ", kLameDuckSeconds, " s")))
      << output;
  EXPECT_TRUE(absl::StrContains(output, "lame duck over, draining")) << output;
  EXPECT_FALSE(absl::StrContains(output, "ending it early")) << output;
}

// A second SIGTERM during the lame duck starts the drain at once.
TEST(SigtermTest, SecondSignalEndsTheLameDuck) {
  absl::StatusOr<TestPki> pki = TestPki::Create();
  ASSERT_TRUE(pki.ok()) << pki.status();
  absl::StatusOr<KeyAndCert> gateway = pki->Client(kGateway);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  absl::StatusOr<ServerProcess> server =
      StartServer(*pki, {"--lame-duck-seconds", "600"});
  ASSERT_TRUE(server.ok()) << server.status();

  std::shared_ptr<grpc::Channel> channel =
      MtlsChannel(server->port, pki->ca().cert_pem(), &*gateway);
  absl::StatusOr<int> health = HealthCheck(channel);
  ASSERT_TRUE(health.ok()) << health.status();
  ASSERT_EQ(*health, kServing);
  ASSERT_EQ(kill(server->child->pid(), SIGTERM), 0);
  // NOT_SERVING: the first signal was taken and the lame duck is on.
  health = AwaitHealth(channel, "", kNotServing, absl::Seconds(10));
  ASSERT_TRUE(health.ok()) << health.status();
  ASSERT_EQ(*health, kNotServing) << server->Output();
  channel.reset();

  ASSERT_EQ(kill(server->child->pid(), SIGTERM), 0);
  ExpectExitsZero(*server, absl::Seconds(20));
  EXPECT_TRUE(absl::StrContains(server->Output(),
                                "during the lame duck, ending it early"))
      << server->Output();
}

}  // namespace
}  // namespace servertest
}  // namespace pdp
