#include "pdp/server/connection_guard.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <mutex>

namespace pdp::server {
namespace {

std::atomic<uint64_t> g_ceiling{0};
std::atomic<uint64_t> g_shed{0};
std::atomic<uint64_t> g_exhausted{0};
std::atomic<bool> g_logged_shed{false};
std::atomic<bool> g_logged_exhausted{false};

std::mutex g_reserve_mu;
int g_reserve = -1;  // Guarded by g_reserve_mu; -1 while given up.

int OpenReserve() { return open("/dev/null", O_RDONLY | O_CLOEXEC); }

int RealAccept4(int fd, sockaddr* address, socklen_t* length, int flags) {
  return static_cast<int>(syscall(SYS_accept4, fd, address, length, flags));
}

// Out of descriptors: closes the reserve, accepts and closes one pending
// connection, and reopens the reserve. Returns whether one was shed.
bool ShedOneWithReserve(int listener) {
  std::lock_guard<std::mutex> lock(g_reserve_mu);
  if (g_reserve >= 0) {
    close(g_reserve);
    g_reserve = -1;
  }
  const int conn = RealAccept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  if (conn >= 0) close(conn);
  g_reserve = OpenReserve();
  return conn >= 0;
}

// Writes a fixed line to stderr once per flag (async-signal-safe enough:
// no allocation while the process may be out of descriptors).
void LogOnce(std::atomic<bool>& flag, const char* line) {
  if (flag.exchange(true)) return;
  std::fputs(line, stderr);
  std::fflush(stderr);
}

}  // namespace

uint64_t ConnectionGuard::RaiseDescriptorLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  {
    std::lock_guard<std::mutex> lock(g_reserve_mu);
    if (g_reserve < 0) g_reserve = OpenReserve();
  }
  return static_cast<uint64_t>(limit.rlim_cur);
}

void ConnectionGuard::SetConnectionCeiling(uint64_t ceiling) {
  g_ceiling.store(ceiling, std::memory_order_relaxed);
}

uint64_t ConnectionGuard::shed() {
  return g_shed.load(std::memory_order_relaxed);
}

uint64_t ConnectionGuard::exhausted() {
  return g_exhausted.load(std::memory_order_relaxed);
}

}  // namespace pdp::server

// Interposes libc's accept4() for the whole process (gRPC calls it to
// accept connections); see ConnectionGuard.
extern "C" int accept4(int fd, sockaddr* address, socklen_t* length,
                       int flags) {
  using pdp::server::g_ceiling;
  for (;;) {
    const int conn = pdp::server::RealAccept4(fd, address, length, flags);
    if (conn >= 0) {
      const uint64_t ceiling = g_ceiling.load(std::memory_order_relaxed);
      if (ceiling == 0 || static_cast<uint64_t>(conn) < ceiling) return conn;
      close(conn);
      pdp::server::g_shed.fetch_add(1, std::memory_order_relaxed);
      pdp::server::LogOnce(
          pdp::server::g_logged_shed,
          "pdp-server: connection limit reached: new connections are closed "
          "at once until some close (connections.max_connections, "
          "connections.reserved_descriptors)\n");
      continue;  // The next pending one, until the queue is empty.
    }
    if (errno != EMFILE && errno != ENFILE) return conn;
    pdp::server::g_exhausted.fetch_add(1, std::memory_order_relaxed);
    pdp::server::LogOnce(
        pdp::server::g_logged_exhausted,
        "pdp-server: out of file descriptors while accepting: pending "
        "connections are closed at once until descriptors are free again\n");
    if (pdp::server::ShedOneWithReserve(fd)) continue;
    errno = EAGAIN;  // Keeps gRPC's listener armed (CVE-2023-4785).
    return -1;
  }
}
