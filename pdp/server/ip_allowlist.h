#ifndef PDP_SERVER_IP_ALLOWLIST_H_
#define PDP_SERVER_IP_ALLOWLIST_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pdp::server {

// The peers allowed to connect: a list of IPv4 and IPv6 CIDRs. An empty list
// allows every peer. An IPv4-mapped IPv6 peer (::ffff:10.1.2.3, which a
// dual-stack listener reports) is matched as the IPv4 address it carries,
// against the IPv4 entries and against IPv6 entries that cover it.
// Immutable after Parse(); thread-safe. Copyable.
class IpAllowlist {
 public:
  // An empty list: allows everyone.
  IpAllowlist() = default;

  // Parses CIDRs such as "10.0.0.0/8", "2001:db8::/32"; a bare address is a
  // single host (/32 or /128). Host bits below the prefix are ignored
  // ("10.1.2.3/8" is 10.0.0.0/8). Surrounding whitespace is ignored.
  // Returns InvalidArgument naming the entry, e.g.
  //   ip_allowlist[2]: "10.0.0.0/33" is not a CIDR (the prefix length must be 0-32)
  static absl::StatusOr<IpAllowlist> Parse(
      const std::vector<std::string>& cidrs);

  // Whether a peer, as grpc::ServerContext::peer() reports it, may connect:
  // "ipv4:127.0.0.1:5000", "ipv6:[::1]:5000", "ipv6:%5B::1%5D:5000".
  // "unix:..." peers and anything unparseable are refused unless the list is
  // empty.
  bool Allows(absl::string_view grpc_peer) const;

  bool empty() const { return entries_.empty(); }

 private:
  // Addresses are kept as 16 bytes; IPv4 ones as IPv4-mapped IPv6
  // (::ffff:a.b.c.d), so one comparison covers both families.
  struct Entry {
    std::array<uint8_t, 16> address;  // Host bits cleared.
    int prefix_len;                   // Over the 128-bit form.
  };

  std::vector<Entry> entries_;
};

}  // namespace pdp::server

#endif  // PDP_SERVER_IP_ALLOWLIST_H_
