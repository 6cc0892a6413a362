// pdp_bench: a closed-loop load generator for pdp.v1.Authorizer endpoints and
// a null Authorizer to measure gRPC's own ceiling. See Usage() in options.cc.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpc/impl/codegen/grpc_types.h"
#include "nlohmann/json.hpp"
#include "pdp/compiler.h"
#include "tools/pdp_bench/load.h"
#include "tools/pdp_bench/null_process.h"
#include "tools/pdp_bench/null_server.h"
#include "tools/pdp_bench/options.h"
#include "tools/pdp_bench/report.h"
#include "tools/pdp_bench/request_mix.h"
#include "tools/pdp_bench/transport.h"

namespace pdp_bench {
namespace {

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "pdp_bench: %s\n",
               std::string(status.message()).c_str());
  return 1;
}

std::string TransportName(const BenchOptions& options) {
  if (options.insecure) return "plaintext";
  return options.client_tls.cert_file.empty() ? "TLS" : "mTLS";
}

// The host part of "HOST:PORT".
std::string HostOf(const std::string& address) {
  return address.substr(0, address.rfind(':'));
}

int ServeNull(const BenchOptions& options) {
  // Block the signals before gRPC starts threads, so that all of them inherit
  // the mask and sigwait() below receives the signal.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials(options.insecure, options.server_tls);
  if (!credentials.ok()) return Fail(credentials.status());
  absl::StatusOr<std::unique_ptr<NullServer>> server = NullServer::Start(
      {options.null_address, *credentials, options.null_filter_tools});
  if (!server.ok()) return Fail(server.status());
  const std::string address =
      absl::StrCat(HostOf(options.null_address), ":", (*server)->port());
  if (options.json) {
    std::printf(
        "%s\n",
        nlohmann::json({{"address", address},
                        {"port", (*server)->port()},
                        {"transport", options.insecure ? "plaintext" : "mTLS"}})
            .dump()
            .c_str());
  } else {
    std::printf(
        "pdp_bench: null Authorizer serving on %s (%s); SIGINT or "
        "SIGTERM stops it\n",
        address.c_str(), options.insecure ? "plaintext" : "mTLS");
  }
  std::fflush(stdout);
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  (*server)->Shutdown();
  std::fprintf(stderr, "pdp_bench: null Authorizer stopped\n");
  return 0;
}

// Serves the null Authorizer on a 127.0.0.1 port (in a child process unless
// --null-in-process) with the options' transport security, runs `load`
// against it and stops it. Sets `null_target` to its address.
absl::StatusOr<LoadResult> RunNull(const BenchOptions& options,
                                   const ClientTransport& transport,
                                   const RequestMix& mix,
                                   const LoadOptions& load,
                                   std::string* null_target) {
  // The null server's certificate is checked against the name the target's
  // is, so one server certificate serves both runs.
  ClientTransport null_transport = transport;
  if (!options.insecure && options.client_tls.server_name.empty()) {
    std::string host = HostOf(options.target);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    null_transport.arguments.SetString(GRPC_SSL_TARGET_NAME_OVERRIDE_ARG, host);
  }
  if (options.null_in_process) {
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
        MakeServerCredentials(options.insecure, options.server_tls);
    if (!credentials.ok()) return credentials.status();
    absl::StatusOr<std::unique_ptr<NullServer>> server = NullServer::Start(
        {"127.0.0.1:0", *credentials, options.null_filter_tools});
    if (!server.ok()) return server.status();
    *null_target = absl::StrCat("127.0.0.1:", (*server)->port());
    absl::StatusOr<LoadResult> result =
        RunLoad(*null_target, null_transport, mix, load);
    (*server)->Shutdown();
    return result;
  }
  absl::StatusOr<std::string> self = SelfExecutable();
  if (!self.ok()) return self.status();
  std::vector<std::string> args = {"--serve-null", "127.0.0.1:0", "--json",
                                   "--null-filter-tools",
                                   absl::StrCat(options.null_filter_tools)};
  if (options.insecure) {
    args.push_back("--insecure");
  } else {
    args.insert(args.end(), {"--server-cert", options.server_tls.cert_file,
                             "--server-key", options.server_tls.key_file,
                             "--client-ca", options.server_tls.client_ca_file});
  }
  absl::StatusOr<std::unique_ptr<NullProcess>> process =
      NullProcess::Spawn(*self, args, absl::Seconds(10));
  if (!process.ok()) return process.status();
  *null_target = absl::StrCat("127.0.0.1:", (*process)->port());
  absl::StatusOr<LoadResult> result =
      RunLoad(*null_target, null_transport, mix, load);
  if (absl::Status stopped = (*process)->Stop(); !stopped.ok()) {
    return stopped;
  }
  return result;
}

int RunBench(const BenchOptions& options) {
  absl::StatusOr<std::shared_ptr<const pdp::Snapshot>> snapshot =
      pdp::Compiler::CompileDirectory(options.policy_dir);
  if (!snapshot.ok()) {
    return Fail(absl::Status(snapshot.status().code(),
                             absl::StrCat("--policy ", options.policy_dir, ": ",
                                          snapshot.status().message())));
  }
  RequestMixOptions mix_options;
  mix_options.mix = options.mix;
  mix_options.batch_size = options.batch_size;
  mix_options.filter_server = options.filter_server;
  mix_options.seed = options.seed;
  absl::StatusOr<RequestMix> mix = RequestMix::Draw(**snapshot, mix_options);
  if (!mix.ok()) return Fail(mix.status());
  absl::StatusOr<ClientTransport> transport =
      MakeClientTransport(options.insecure, options.client_tls);
  if (!transport.ok()) return Fail(transport.status());

  LoadOptions load;
  load.channels = options.channels;
  load.inflight = options.inflight;
  load.duration = absl::Seconds(options.duration_s);
  load.warmup = absl::Seconds(options.warmup_s);
  const int batch_size = options.mix == Mix::kBatch ? options.batch_size : 0;

  nlohmann::json json = {
      {"target", options.target},     {"transport", TransportName(options)},
      {"mix", MixName(options.mix)},  {"seed", options.seed},
      {"warmup_s", options.warmup_s}, {"requests_drawn", mix->description()},
  };
  if (!options.json) {
    std::printf(
        "pdp_bench: %s, %s, %d channels x %d in flight, %g s after "
        "%g s warm-up\n  %s\n",
        MixName(options.mix), TransportName(options).c_str(),
        std::min(options.channels, options.inflight), options.inflight,
        options.duration_s, options.warmup_s, mix->description().c_str());
    std::fflush(stdout);
  }

  bool all_ran = true;
  std::unique_ptr<LoadResult> null_result;
  if (options.mode == Mode::kCompareNull) {
    // Fail before the null run, not after it.
    if (absl::Status reachable =
            CheckConnect(options.target, *transport, load.connect_timeout);
        !reachable.ok()) {
      return Fail(reachable);
    }
    std::string null_target;
    absl::StatusOr<LoadResult> result =
        RunNull(options, *transport, *mix, load, &null_target);
    if (!result.ok()) return Fail(result.status());
    null_result = std::make_unique<LoadResult>(*std::move(result));
    all_ran = all_ran && null_result->ok > 0;
    if (options.json) {
      json["null"] = ResultJson(*null_result, batch_size);
      json["null"]["target"] = null_target;
      json["null"]["in_process"] = options.null_in_process;
    } else {
      std::printf(
          "\nnull Authorizer (%s, %s):\n%s",
          options.null_in_process ? "in this process" : "in a child process",
          null_target.c_str(), FormatResult(*null_result, batch_size).c_str());
      std::fflush(stdout);
    }
  }

  absl::StatusOr<LoadResult> result =
      RunLoad(options.target, *transport, *mix, load);
  if (!result.ok()) return Fail(result.status());
  all_ran = all_ran && result->ok > 0;
  if (options.json) {
    json["result"] = ResultJson(*result, batch_size);
    if (null_result != nullptr) {
      json["percent_of_null"] = PercentOfNull(*result, *null_result);
    }
    std::printf("%s\n", json.dump(2).c_str());
  } else {
    std::printf("\n%s:\n%s", options.target.c_str(),
                FormatResult(*result, batch_size).c_str());
    if (null_result != nullptr) {
      std::printf("\n%s throughput is %.1f%% of the null ceiling\n",
                  options.target.c_str(), PercentOfNull(*result, *null_result));
    }
  }
  if (!all_ran) {
    std::fprintf(stderr, "pdp_bench: no call succeeded in a run\n");
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace pdp_bench

int main(int argc, char** argv) {
  // Debian's Abseil is built without NDEBUG, so absl::Mutex (which gRPC uses
  // for every call) keeps a global lock-order graph for deadlock detection,
  // updated under one global lock on every acquisition and destruction. That
  // is a debugging aid, not a cost to measure.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<pdp_bench::BenchOptions> options =
      pdp_bench::ParseOptions(args);
  if (!options.ok()) {
    std::fprintf(stderr, "pdp_bench: %s\n(see pdp_bench --help)\n",
                 std::string(options.status().message()).c_str());
    return 2;
  }
  if (options->help) {
    std::fputs(pdp_bench::Usage().c_str(), stdout);
    return 0;
  }
  if (options->mode == pdp_bench::Mode::kServeNull) {
    return pdp_bench::ServeNull(*options);
  }
  return pdp_bench::RunBench(*options);
}
