#ifndef PDP_SERVER_CONNECTION_GUARD_H_
#define PDP_SERVER_CONNECTION_GUARD_H_

#include <cstdint>

namespace pdp::server {

// Keeps the process accepting connections when file descriptors run out.
//
// gRPC 1.51's listener stops for good on the first accept4() error other
// than EAGAIN or ECONNABORTED (CVE-2023-4785): after one EMFILE it logs
// "Failed accept4: Too many open files" and never accepts again, while the
// port still completes TCP handshakes. This guard owns accept4() for the
// process (it is defined here and interposes libc's for gRPC):
//  - a connection whose descriptor is at or above the ceiling
//    (SetConnectionCeiling) is closed at once (shed) and the next pending
//    one is tried, so that connections never take the descriptors the
//    server needs for itself;
//  - when accept4() fails with EMFILE or ENFILE anyway, a reserve
//    descriptor is given up for a moment to accept and close one pending
//    connection, and gRPC is told EAGAIN, so its listener stays armed.
// Each first shedding and exhaustion is logged once on stderr; both are
// counted.
// Thread-safe.
class ConnectionGuard {
 public:
  // Raises this process's RLIMIT_NOFILE soft limit to its hard limit and
  // opens the reserve descriptor. Returns the soft limit now in force.
  static uint64_t RaiseDescriptorLimit();

  // Connections that would get a descriptor >= `ceiling` are shed; 0 sheds
  // none. Process-wide: the last call wins.
  static void SetConnectionCeiling(uint64_t ceiling);

  // Connections shed at the ceiling, and accept4() calls that found the
  // process (or the system) out of descriptors, since the process started.
  static uint64_t shed();
  static uint64_t exhausted();
};

}  // namespace pdp::server

#endif  // PDP_SERVER_CONNECTION_GUARD_H_
