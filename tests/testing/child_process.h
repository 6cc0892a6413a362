#ifndef TESTS_TESTING_CHILD_PROCESS_H_
#define TESTS_TESTING_CHILD_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace pdp::testproc {

// A child process (the real server binary, in tests), killed with SIGKILL
// (if still running) and reaped on destruction. Thread-compatible.
class ChildProcess {
 public:
  // Starts `argv` with stdout and stderr appended to `output`.
  // Returns Internal if it cannot be started.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Spawn(
      const std::vector<std::string>& argv, const std::string& output);

  ~ChildProcess();

  pid_t pid() const { return pid_; }
  bool running() const { return !exited_; }

  // Reaps the child if it has exited. Returns whether it has.
  bool Poll();

  // Waits up to `timeout` for the child to exit; returns whether it did.
  bool WaitFor(absl::Duration timeout);

  // The waitpid() status, once it has exited.
  int wait_status() const { return status_; }

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}

  pid_t pid_;
  bool exited_ = false;
  int status_ = 0;
};

}  // namespace pdp::testproc

#endif  // TESTS_TESTING_CHILD_PROCESS_H_
