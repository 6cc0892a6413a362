#ifndef TOOLS_PDP_BENCH_NULL_PROCESS_H_
#define TOOLS_PDP_BENCH_NULL_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace pdp_bench {

// A null Authorizer in a child process: `binary args...`, which must print
// one JSON line {"port": N, ...} on stdout once it serves (pdp_bench
// --serve-null ... --json does) and stop on SIGTERM. A separate process is
// what a real server on the same machine is: its own gRPC threads and
// pollers, competing with the load generator only for the cores.
// Thread-compatible.
class NullProcess {
 public:
  // Returns Unavailable if the child cannot be started, exits before
  // announcing its port (its stderr is this process's), or does not announce
  // it within `timeout`.
  static absl::StatusOr<std::unique_ptr<NullProcess>> Spawn(
      const std::string& binary, const std::vector<std::string>& args,
      absl::Duration timeout);

  // Stops the child (see Stop()).
  ~NullProcess();

  int port() const { return port_; }

  // Sends SIGTERM and waits for the child to exit. Returns Internal if it
  // exits other than with status 0. Idempotent: later calls return OK.
  absl::Status Stop();

 private:
  NullProcess(pid_t pid, int stdout_fd) : pid_(pid), stdout_fd_(stdout_fd) {}

  pid_t pid_;
  int stdout_fd_;
  int port_ = 0;
};

// The path of the running executable (/proc/self/exe resolved).
// Returns Internal if it cannot be read.
absl::StatusOr<std::string> SelfExecutable();

}  // namespace pdp_bench

#endif  // TOOLS_PDP_BENCH_NULL_PROCESS_H_
