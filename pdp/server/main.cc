// pdp-server: the policy decision point over gRPC.
//
//   pdp-server --config FILE [--listen HOST:PORT] [--insecure] [--policy DIR]
//              [--tls-cert F --tls-key F --tls-client-ca F]
//              [--token-settings FILE] [--decision-log PATH|-]
//              [--ip-allowlist CIDR,...] [--lame-duck-seconds N]
//              [--port-file FILE]
//
// Flags override the config file (docs/operations.md). SIGTERM or SIGINT
// starts the lame duck (health NOT_SERVING, calls still answered for
// shutdown.lame_duck_seconds; a second signal cuts it short), then drains
// calls in flight for up to shutdown.grace_seconds and exits 0.

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/flags/flags.h"
#include "pdp/server/config.h"
#include "pdp/server/server.h"

namespace {

constexpr char kUsage[] =
    "usage: pdp-server [--config FILE] [--listen HOST:PORT] [--insecure]\n"
    "                  [--policy DIR] [--tls-cert FILE --tls-key FILE\n"
    "                  --tls-client-ca FILE] [--token-settings FILE]\n"
    "                  [--decision-log PATH|-] [--ip-allowlist CIDR,...]\n"
    "                  [--lame-duck-seconds N] [--port-file FILE]\n"
    "\n"
    "Serves pdp.v1.Authorizer, grpc.health.v1.Health and server reflection.\n"
    "mTLS unless --insecure (loopback only). Flags override the config file;\n"
    "see docs/operations.md. SIGTERM reports NOT_SERVING while still\n"
    "answering for N s (default 5; a second SIGTERM ends it early), then\n"
    "drains calls in flight and exits 0.\n";

// Every flag: --config, --port-file, --help and the config's (ApplyFlag).
std::vector<common::FlagSpec> FlagSpecs() {
  using Kind = common::FlagSpec::Kind;
  std::vector<common::FlagSpec> specs = {
      {"help", Kind::kBool, "", "", 'h'},
      {"insecure", Kind::kBool},
  };
  for (const char* name :
       {"config", "port-file", "listen", "policy", "store", "tls-cert",
        "tls-key", "tls-client-ca", "token-settings", "decision-log",
        "ip-allowlist", "lame-duck-seconds"}) {
    specs.push_back({name, Kind::kValue});
  }
  return specs;
}

// SequentialDialect(), and --insecure=true|false (the config decides).
common::FlagDialect Dialect() {
  common::FlagDialect dialect = common::SequentialDialect();
  dialect.bool_values = true;
  return dialect;
}

std::string FlagMessage(const common::FlagProblem& problem) {
  using Kind = common::FlagProblem::Kind;
  switch (problem.kind) {
    case Kind::kNeedsValue:
      return absl::StrCat("--", problem.name, " needs a value");
    case Kind::kUnknownShortFlag:
    case Kind::kUnexpectedArgument:
      return absl::StrCat("unexpected argument \"", problem.name, "\"\n",
                          kUsage);
    default:
      return absl::StrCat("unknown flag --", problem.name, "\n", kUsage);
  }
}

int Fail(const std::string& message) {
  std::cerr << "pdp-server: " << message << "\n";
  return 1;
}

// Waits until `deadline` for one of `signals` (blocked in every thread).
// Returns the signal, or 0 when the deadline passes first.
int WaitForSignalUntil(const sigset_t& signals, absl::Time deadline) {
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return 0;
    const timespec timeout = absl::ToTimespec(left);
    const int signal = sigtimedwait(&signals, nullptr, &timeout);
    if (signal > 0) return signal;
    if (errno != EINTR && errno != EAGAIN) return 0;
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Debian's Abseil is built with deadlock detection on, which takes a global
  // lock on every mutex operation, gRPC's per-call ones included.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Under `bazel run`, resolve paths from where the command was typed.
  if (const char* dir = std::getenv("BUILD_WORKING_DIRECTORY")) {
    if (chdir(dir) != 0) return Fail(absl::StrCat("cannot chdir to ", dir));
  }

  absl::StatusOr<common::Args> args = common::ParseArgs(
      std::vector<std::string>(argv + 1, argv + argc), FlagSpecs(), Dialect(),
      FlagMessage);
  if (!args.ok()) return Fail(std::string(args.status().message()));
  std::string config_path, port_file;
  std::vector<std::pair<std::string, std::string>> overrides;
  for (const auto& [name, value] : args->in_order()) {
    if (name == "help") {
      std::cout << kUsage;
      return 0;
    }
    if (name == "config") {
      config_path = value;
    } else if (name == "port-file") {
      port_file = value;
    } else {
      overrides.emplace_back(name, value);
    }
  }

  pdp::server::ServerConfig config;
  if (!config_path.empty()) {
    absl::StatusOr<pdp::server::ServerConfig> loaded =
        pdp::server::LoadServerConfig(config_path);
    if (!loaded.ok()) return Fail(std::string(loaded.status().message()));
    config = *std::move(loaded);
  }
  for (const auto& [name, value] : overrides) {
    if (absl::Status s = pdp::server::ApplyFlag(name, value, &config); !s.ok()) {
      return Fail(absl::StrCat(s.message(), "\n", kUsage));
    }
  }

  // Signals are taken synchronously below; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<std::unique_ptr<pdp::server::PdpServer>> server =
      pdp::server::PdpServer::Start(config);
  if (!server.ok()) return Fail(std::string(server.status().message()));
  if (config.insecure) {
    std::cerr << "pdp-server: WARNING: --insecure: serving PLAINTEXT with no "
                 "caller authentication on "
              << config.listen << ". For local trials only.\n";
  }

  std::cerr << "pdp-server: serving on port " << (*server)->port()
            << (config.insecure ? " (insecure)" : " (mTLS)")
            << ((*server)->policy_version().empty()
                    ? ", no policy: NOT_SERVING, every call UNAVAILABLE"
                    : absl::StrCat(", policy version ",
                                   (*server)->policy_version()))
            << "\n";
  if (!port_file.empty()) {
    std::ofstream(port_file) << (*server)->port() << "\n";
  }

  int signal = 0;
  sigwait(&signals, &signal);
  const int lame_duck = config.shutdown.lame_duck_seconds;
  const int grace = config.shutdown.grace_seconds;
  if (lame_duck > 0) {
    // Endpoint lists and load balancers drop this replica some time after
    // the signal; calls that still arrive meanwhile are answered.
    std::cerr << "pdp-server: signal " << signal << ", lame duck for "
              << lame_duck
              << " s: health NOT_SERVING, calls still answered (signal again "
                 "to drain now)\n";
    (*server)->EnterLameDuck();
    if (int again = WaitForSignalUntil(
            signals, absl::Now() + absl::Seconds(lame_duck));
        again != 0) {
      std::cerr << "pdp-server: signal " << again
                << " during the lame duck, ending it early\n";
    }
    std::cerr << "pdp-server: lame duck over, draining calls in flight for "
                 "up to "
              << grace << " s\n";
  } else {
    std::cerr << "pdp-server: signal " << signal
              << ", draining calls in flight for up to " << grace << " s\n";
  }
  (*server)->Shutdown(absl::Seconds(grace));
  std::cerr << "pdp-server: drained, exiting\n";
  if (uint64_t undecodable = (*server)->undecodable_requests();
      undecodable > 0) {
    std::cerr << "pdp-server: " << undecodable
              << " requests could not be decoded (INVALID_ARGUMENT)\n";
  }
  if (uint64_t dropped = (*server)->dropped_decisions(); dropped > 0) {
    std::cerr << "pdp-server: the decision log dropped " << dropped
              << " decisions (queue full)\n";
  }
  return 0;
}
