// Crash safety: the real pdp-server binary, with a RocksDB store under
// TEST_TMPDIR, is killed with SIGKILL at a random moment while versions are
// pushed to it one after another, and restarted on the same store, a few
// rounds over. After every restart it must serve, at once, a version whose
// push was acknowledged or the one in flight at the kill (never one that was
// never sent, never a mix): GetStatus, ListBundles and the decisions agree
// with that version's policy as the engine decides it in process, and the
// bytes stored are exactly the bytes that were signed.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cache/store.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pdp/compiler.h"
#include "pdp/evaluator.h"
#include "pdp/request.h"
#include "pdp/v1/admin.grpc.pb.h"
#include "pdp/v1/authorizer.grpc.pb.h"
#include "tests/server/test_server.h"
#include "tests/store/store_fixture.h"
#include "tests/testing/child_process.h"
#include "tests/testing/test_certs.h"

namespace pdp {
namespace storetest {
namespace {

using servertest::Deadline;
using servertest::ReadFile;
using servertest::TestPki;
using testcerts::KeyAndCert;

// The binary, relative to the test's working directory (the workspace root
// in runfiles).
constexpr char kServerBinary[] = "pdp/server/server";
constexpr int kRounds = 5;
// Pushes a round may make at most (the kill comes well before).
constexpr uint64_t kMaxPushesPerRound = 100;
constexpr absl::Duration kStartTimeout = absl::Seconds(20);

using Child = ::pdp::testproc::ChildProcess;

// The probes whose decisions identify a version's policy.
std::vector<Request> Probes() {
  Request salary;  // alice, an executive, reads a salary: even versions deny.
  salary.chain.user_id = "alice@acme.example";
  salary.chain.client_id = "acme-copilot";
  salary.chain.scopes = {"hr:salary:read"};
  salary.chain.amr = {"pwd", "otp"};
  salary.tool_id = "hr.get_salary";
  Request sales = salary;  // bob, in sales, may not.
  sales.chain.user_id = "bob@acme.example";
  Request crm = salary;  // bob searches contacts: every version allows.
  crm.chain.user_id = "bob@acme.example";
  crm.chain.scopes = {"contacts:read"};
  crm.tool_id = "crm.search_contacts";
  Request stranger = salary;  // Unknown user.
  stranger.chain.user_id = "nobody@acme.example";
  return {salary, sales, crm, stranger};
}

// Bundle `version`: Acme; even versions take hr.get_salary from executives.
// Signing is deterministic, so the same version always has the same bytes.
class Versions {
 public:
  Versions(SigningKey key, v1::Bundle acme)
      : key_(std::move(key)), acme_(std::move(acme)) {}

  absl::StatusOr<v1::Bundle> Bundle(uint64_t version) const {
    v1::Bundle bundle = acme_;
    bundle.mutable_metadata()->set_version(version);
    bundle.mutable_metadata()->set_source_commit(
        absl::StrCat("commit-", version));
    if (version % 2 == 0 &&
        !RemoveRoleTool(&bundle, "executive", "hr.get_salary")) {
      return absl::InternalError("executive has no hr.get_salary");
    }
    return bundle;
  }

  // Thread-safe.
  absl::StatusOr<v1::SignedBundle> Signed(uint64_t version) const {
    absl::StatusOr<v1::Bundle> bundle = Bundle(version);
    if (!bundle.ok()) return bundle.status();
    return Sign(*bundle, key_);
  }

  // What the engine decides for Probes() with this version's policy.
  absl::StatusOr<std::vector<Decision>> Expected(uint64_t version) const {
    absl::StatusOr<v1::Bundle> bundle = Bundle(version);
    if (!bundle.ok()) return bundle.status();
    absl::StatusOr<std::shared_ptr<const Snapshot>> snapshot =
        Compiler::Compile(*bundle);
    if (!snapshot.ok()) return snapshot.status();
    return BatchCheck(**snapshot, Probes());
  }

  const SigningKey& key() const { return key_; }

 private:
  const SigningKey key_;
  const v1::Bundle acme_;  // Version 0.
};

// What the pusher thread and the killer share during one round.
struct RoundState {
  bool ReachedOrDone() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return acked >= target || done;
  }

  absl::Mutex mu;
  uint64_t target ABSL_GUARDED_BY(mu) = 0;  // Kill once this is acked.
  uint64_t acked ABSL_GUARDED_BY(mu) = 0;   // The last acknowledged version.
  uint64_t failed ABSL_GUARDED_BY(mu) = 0;  // The version whose push failed.
  std::string failure ABSL_GUARDED_BY(mu);
  bool done ABSL_GUARDED_BY(mu) = false;  // The pusher has stopped.
};

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TestPki> pki = TestPki::Create();
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = std::make_unique<TestPki>(*std::move(pki));
    absl::StatusOr<SigningKey> key = NewSigningKey();
    ASSERT_TRUE(key.ok()) << key.status();
    absl::StatusOr<v1::Bundle> acme = AcmeBundle(0);
    ASSERT_TRUE(acme.ok()) << acme.status();
    versions_ = std::make_unique<Versions>(*std::move(key), *std::move(acme));
    for (auto [id, cert] : {std::make_pair(kCi, &ci_),
                            std::make_pair(servertest::kGateway, &gateway_)}) {
      absl::StatusOr<KeyAndCert> issued = pki_->Client(id);
      ASSERT_TRUE(issued.ok()) << issued.status();
      *cert = *std::move(issued);
    }
    dir_ = pki_->dir();
    store_path_ = dir_ + "/store";
    config_file_ = dir_ + "/server.yaml";
    output_ = dir_ + "/server.out";
    ASSERT_TRUE(testcerts::WriteFile(
                    config_file_,
                    absl::StrCat(
                        "listen: 127.0.0.1:0\n"
                        "tls:\n"
                        "  cert: ", pki_->cert_file(), "\n"
                        "  key: ", pki_->key_file(), "\n"
                        "  client_ca: ", pki_->ca_file(), "\n"
                        "store:\n"
                        "  path: ", store_path_, "\n"
                        "trusted_keys:\n"
                        "  - id: \"", versions_->key().id, "\"\n"
                        "    public_key: ", versions_->key().public_key_file,
                        "\n"
                        "callers:\n"
                        "  - identity: ", servertest::kGateway, "\n"
                        "    permissions: [check, filter]\n"
                        "  - identity: ", kCi, "\n"
                        "    permissions: [admin]\n"
                        "decision_log:\n"
                        "  path: \"\"\n"))
                    .ok());
  }

  std::string ServerOutput() const {
    absl::StatusOr<std::string> text = ReadFile(output_);
    return text.ok() ? *text : text.status().ToString();
  }

  // Starts the binary on the store and waits (bounded) until it listens and
  // a channel to it is connected.
  void StartServer() {
    const std::string port_file = absl::StrCat(dir_, "/port-", ++starts_);
    absl::StatusOr<std::unique_ptr<Child>> child = Child::Spawn(
        {kServerBinary, "--config", config_file_, "--lame-duck-seconds", "0",
         "--port-file", port_file},
        output_);
    ASSERT_TRUE(child.ok()) << child.status();
    child_ = *std::move(child);
    int port = 0;
    const absl::Time deadline = absl::Now() + kStartTimeout;
    while (port == 0) {
      absl::StatusOr<std::string> text = ReadFile(port_file);
      if (text.ok() && absl::EndsWith(*text, "\n")) {
        ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &port))
            << *text;
        break;
      }
      ASSERT_FALSE(child_->Poll()) << "the server exited:\n" << ServerOutput();
      ASSERT_LT(absl::Now(), deadline) << "no port file:\n" << ServerOutput();
      absl::SleepFor(absl::Milliseconds(5));
    }
    const std::string& ca = pki_->ca().cert_pem();
    ci_channel_ = servertest::MtlsChannel(port, ca, &ci_);
    gateway_channel_ = servertest::MtlsChannel(port, ca, &gateway_);
    for (const auto& channel : {ci_channel_, gateway_channel_}) {
      ASSERT_TRUE(channel->WaitForConnected(
          std::chrono::system_clock::now() + std::chrono::seconds(10)))
          << ServerOutput();
    }
  }

  // Kills the server with SIGKILL and reaps it.
  void KillServer() {
    ASSERT_EQ(kill(child_->pid(), SIGKILL), 0) << strerror(errno);
    ASSERT_TRUE(child_->WaitFor(absl::Seconds(10)));
    ASSERT_TRUE(WIFSIGNALED(child_->wait_status()));
    EXPECT_EQ(WTERMSIG(child_->wait_status()), SIGKILL);
  }

  // Asserts the server serves one of `allowed`, intact, and returns it.
  std::optional<uint64_t> ExpectServesOneOf(
      const std::vector<uint64_t>& allowed) {
    auto admin = v1::PolicyAdmin::NewStub(ci_channel_);
    absl::StatusOr<v1::GetStatusResponse> status = GetStatus(*admin);
    EXPECT_TRUE(status.ok()) << status.status();
    if (!status.ok()) return std::nullopt;
    const uint64_t v = status->active().metadata().version();
    EXPECT_NE(std::find(allowed.begin(), allowed.end(), v), allowed.end())
        << "active version " << v << " is neither acknowledged nor in flight";
    absl::StatusOr<v1::SignedBundle> expected = versions_->Signed(v);
    EXPECT_TRUE(expected.ok()) << expected.status();
    if (!expected.ok()) return std::nullopt;
    EXPECT_TRUE(status->serving());
    EXPECT_EQ(status->policy_version(), absl::StrCat(v));
    EXPECT_EQ(status->active().metadata().source_commit(),
              absl::StrCat("commit-", v));
    EXPECT_EQ(status->active().key_id(), versions_->key().id);
    EXPECT_EQ(status->active().size_bytes(), expected->bundle().size());

    absl::StatusOr<int> health = servertest::HealthCheck(gateway_channel_);
    EXPECT_TRUE(health.ok()) << health.status();
    EXPECT_EQ(health.value_or(0), 1) << "not SERVING";

    // Every version up to the active one is stored, nothing beyond it.
    absl::StatusOr<v1::ListBundlesResponse> list = ListBundles(*admin);
    EXPECT_TRUE(list.ok()) << list.status();
    if (list.ok()) {
      EXPECT_EQ(list->active_version(), v);
      EXPECT_EQ(list->bundles_size(), static_cast<int>(v));
      for (int i = 0; i < list->bundles_size(); ++i) {
        const v1::BundleInfo& info = list->bundles(i);
        EXPECT_EQ(info.metadata().version(), static_cast<uint64_t>(i + 1));
        EXPECT_EQ(info.metadata().source_commit(),
                  absl::StrCat("commit-", i + 1));
      }
    }

    // The decisions are that version's, as the engine makes them.
    absl::StatusOr<std::vector<Decision>> want = versions_->Expected(v);
    EXPECT_TRUE(want.ok()) << want.status();
    if (!want.ok()) return std::nullopt;
    auto authorizer = v1::Authorizer::NewStub(gateway_channel_);
    const std::vector<Request> probes = Probes();
    for (size_t i = 0; i < probes.size(); ++i) {
      absl::StatusOr<v1::Decision> got =
          CheckDecision(*authorizer, servertest::ToProto(probes[i]));
      EXPECT_TRUE(got.ok()) << got.status();
      if (!got.ok()) continue;
      EXPECT_EQ(got->policy_version(), absl::StrCat(v));
      EXPECT_EQ(got->effect(), (*want)[i].effect)
          << "probe " << i << " at version " << v << ": "
          << got->DebugString();
      EXPECT_EQ(got->reasons_size(),
                static_cast<int>((*want)[i].reasons.size()))
          << "probe " << i << ": " << got->DebugString();
      if (got->reasons_size() != static_cast<int>((*want)[i].reasons.size())) {
        continue;
      }
      for (int r = 0; r < got->reasons_size(); ++r) {
        EXPECT_EQ(got->reasons(r).code(), (*want)[i].reasons[r].code);
        EXPECT_EQ(got->reasons(r).link(), (*want)[i].reasons[r].link);
      }
    }
    // The probe that tells versions apart does.
    EXPECT_EQ((*want)[0].effect,
              v % 2 == 0 ? v1::EFFECT_DENY : v1::EFFECT_ALLOW);
    return v;
  }

  std::unique_ptr<TestPki> pki_;
  std::unique_ptr<Versions> versions_;
  KeyAndCert ci_, gateway_;
  std::string dir_, store_path_, config_file_, output_;
  int starts_ = 0;
  std::unique_ptr<Child> child_;
  std::shared_ptr<grpc::Channel> ci_channel_, gateway_channel_;
};

TEST_F(CrashTest, KilledDuringPushesServesAFullyPushedVersionIntact) {
  const uint32_t seed = static_cast<uint32_t>(absl::ToUnixNanos(absl::Now()));
  std::cerr << "random seed " << seed << "\n";
  std::mt19937 random(seed);

  StartServer();
  if (HasFatalFailure()) return;
  // Empty store, no policy: nothing is served until the first push.
  absl::StatusOr<int> health = servertest::HealthCheck(gateway_channel_);
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, 2) << "NOT_SERVING expected";

  uint64_t active = 0;  // The version the server serves; 0: none.
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round, ", from version ", active + 1));
    RoundState state;
    state.acked = active;
    // The round's bundles, signed beforehand so that the pusher spends its
    // time pushing (and the kill lands within pushes).
    std::vector<v1::SignedBundle> bundles;
    for (uint64_t v = active + 1; v <= active + kMaxPushesPerRound; ++v) {
      absl::StatusOr<v1::SignedBundle> bundle = versions_->Signed(v);
      ASSERT_TRUE(bundle.ok()) << bundle.status();
      bundles.push_back(*std::move(bundle));
    }
    // Pushes active+1, active+2, ... until a push fails (the kill).
    std::thread pusher([&, first = active + 1] {
      auto admin = v1::PolicyAdmin::NewStub(ci_channel_);
      for (uint64_t v = first; v < first + kMaxPushesPerRound; ++v) {
        grpc::Status status =
            Push(*admin, bundles[v - first], nullptr, absl::Seconds(10));
        absl::MutexLock lock(&state.mu);
        if (!status.ok()) {
          state.failed = v;
          state.failure = Describe(status);
          state.done = true;
          return;
        }
        state.acked = v;
      }
      absl::MutexLock lock(&state.mu);
      state.done = true;
    });

    // The kill: after a random number of acknowledged pushes, plus a random
    // part of a push's time, so that it lands anywhere within a push.
    {
      absl::MutexLock lock(&state.mu);
      state.target =
          active + std::uniform_int_distribution<uint64_t>(1, 12)(random);
      const bool reached = state.mu.AwaitWithTimeout(
          absl::Condition(&state, &RoundState::ReachedOrDone),
          absl::Seconds(30));
      EXPECT_TRUE(reached) << "no push acknowledged in 30 s:\n"
                           << ServerOutput();
      EXPECT_FALSE(state.done)
          << "pushes stopped before the kill: " << state.failure << "\n"
          << ServerOutput();
    }
    absl::SleepFor(absl::Microseconds(
        std::uniform_int_distribution<int>(0, 3000)(random)));
    KillServer();
    pusher.join();  // Its push in flight fails with the connection.
    uint64_t acked, failed;
    {
      absl::MutexLock lock(&state.mu);
      acked = state.acked;
      failed = state.failed;
      std::cerr << "round " << round << ": acknowledged up to " << acked
                << ", in flight at the kill: " << failed << " ("
                << state.failure << ")\n";
    }
    if (HasFatalFailure()) return;

    // Restarted on the same store, with no policy: it serves at once.
    StartServer();
    if (HasFatalFailure()) return;
    std::vector<uint64_t> allowed = {acked};
    if (failed != 0) allowed.push_back(failed);
    std::optional<uint64_t> served = ExpectServesOneOf(allowed);
    ASSERT_TRUE(served.has_value()) << ServerOutput();
    if (HasFailure()) {
      FAIL() << "after round " << round << ":\n" << ServerOutput();
    }
    std::cerr << "round " << round << ": serves version " << *served
              << (*served == failed ? " (the one in flight)" : "") << "\n";
    // Go on from there (the in-flight version, if it made it, is stored).
    active = *served;
  }

  // The server still takes pushes, and a graceful stop keeps the state.
  absl::StatusOr<v1::SignedBundle> next = versions_->Signed(active + 1);
  ASSERT_TRUE(next.ok()) << next.status();
  {
    auto admin = v1::PolicyAdmin::NewStub(ci_channel_);
    grpc::Status status = Push(*admin, *next);
    ASSERT_TRUE(status.ok()) << Describe(status) << "\n" << ServerOutput();
  }
  ++active;
  ASSERT_EQ(ExpectServesOneOf({active}), active);
  ASSERT_EQ(kill(child_->pid(), SIGTERM), 0);
  ASSERT_TRUE(child_->WaitFor(absl::Seconds(20))) << ServerOutput();
  ASSERT_TRUE(WIFEXITED(child_->wait_status())) << ServerOutput();
  EXPECT_EQ(WEXITSTATUS(child_->wait_status()), 0) << ServerOutput();

  // The store holds exactly what was signed, byte for byte.
  absl::StatusOr<std::unique_ptr<cache::Store>> store =
      cache::Store::Open({.path = store_path_});
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<std::optional<cache::Store::ActiveBundle>> stored_active =
      (*store)->GetActive();
  ASSERT_TRUE(stored_active.ok()) << stored_active.status();
  ASSERT_TRUE(stored_active->has_value());
  EXPECT_EQ((*stored_active)->version, active);
  EXPECT_FALSE((*stored_active)->rollback);
  for (uint64_t v = 1; v <= active; ++v) {
    absl::StatusOr<v1::SignedBundle> stored = (*store)->GetBundle(v);
    ASSERT_TRUE(stored.ok()) << "version " << v << ": " << stored.status();
    absl::StatusOr<v1::SignedBundle> signed_bundle = versions_->Signed(v);
    ASSERT_TRUE(signed_bundle.ok()) << signed_bundle.status();
    EXPECT_EQ(stored->bundle(), signed_bundle->bundle()) << "version " << v;
    EXPECT_EQ(stored->signature(), signed_bundle->signature())
        << "version " << v;
    EXPECT_EQ(stored->key_id(), signed_bundle->key_id()) << "version " << v;
  }
  EXPECT_EQ((*store)->GetBundle(active + 1).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace storetest
}  // namespace pdp
