#include "tools/pdp_bench/null_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

extern char** environ;

namespace pdp_bench {
namespace {

absl::Status ErrnoError(absl::string_view what) {
  return absl::UnavailableError(absl::StrCat("the null server process: ", what,
                                             ": ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<std::string> SelfExecutable() {
  std::vector<char> path(4096);
  const ssize_t n = readlink("/proc/self/exe", path.data(), path.size() - 1);
  if (n <= 0) {
    return absl::InternalError(
        absl::StrCat("cannot read /proc/self/exe: ", std::strerror(errno)));
  }
  return std::string(path.data(), static_cast<size_t>(n));
}

absl::StatusOr<std::unique_ptr<NullProcess>> NullProcess::Spawn(
    const std::string& binary, const std::vector<std::string>& args,
    absl::Duration timeout) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return ErrnoError("pipe");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  std::vector<std::string> argv_strings = {binary};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_strings) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, binary.c_str(), &actions, nullptr,
                                  argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (spawned != 0) {
    close(fds[0]);
    errno = spawned;
    return ErrnoError(absl::StrCat("cannot start ", binary));
  }
  std::unique_ptr<NullProcess> process(new NullProcess(pid, fds[0]));

  // Read the first line: {"port": N, ...}.
  std::string line;
  const auto deadline =
      std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(timeout);
  while (line.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return absl::UnavailableError(
          absl::StrCat("the null server process did not announce its port "
                       "within ",
                       absl::FormatDuration(timeout)));
    }
    pollfd poll_fd = {process->stdout_fd_, POLLIN, 0};
    const int ready = poll(&poll_fd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) return ErrnoError("poll");
    if (ready <= 0) continue;
    char buffer[512];
    const ssize_t n = read(process->stdout_fd_, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::UnavailableError(
          "the null server process exited before serving (its error is "
          "above)");
    }
    line.append(buffer, static_cast<size_t>(n));
  }
  const nlohmann::json announced =
      nlohmann::json::parse(line.substr(0, line.find('\n')), nullptr,
                            /*allow_exceptions=*/false);
  if (!announced.is_object() || !announced.contains("port") ||
      !announced["port"].is_number_integer()) {
    return absl::UnavailableError(
        absl::StrCat("the null server process announced no port: ", line));
  }
  process->port_ = announced["port"].get<int>();
  return process;
}

NullProcess::~NullProcess() { Stop().IgnoreError(); }

absl::Status NullProcess::Stop() {
  if (pid_ <= 0) return absl::OkStatus();
  kill(pid_, SIGTERM);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = 0;
  close(stdout_fd_);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(
        absl::StrCat("the null server process ended with status ", status));
  }
  return absl::OkStatus();
}

}  // namespace pdp_bench
