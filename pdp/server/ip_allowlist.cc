#include "pdp/server/ip_allowlist.h"

#include <arpa/inet.h>

#include <cstring>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace pdp::server {
namespace {

using Address = std::array<uint8_t, 16>;

// An address in its 128-bit form (IPv4 as ::ffff:a.b.c.d) and whether it was
// written as IPv4.
struct Parsed {
  Address address;
  bool v4;
};

std::optional<Parsed> ParseAddress(absl::string_view text) {
  // inet_pton needs a NUL-terminated string; addresses are short.
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN ||
      text.find('\0') != absl::string_view::npos) {
    return std::nullopt;
  }
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  Parsed parsed{};
  uint8_t v4[4];
  if (inet_pton(AF_INET, buf, v4) == 1) {
    parsed.address[10] = 0xff;
    parsed.address[11] = 0xff;
    std::memcpy(&parsed.address[12], v4, 4);
    parsed.v4 = true;
    return parsed;
  }
  if (inet_pton(AF_INET6, buf, parsed.address.data()) == 1) {
    parsed.v4 = false;
    return parsed;
  }
  return std::nullopt;
}

// Clears every bit after the first `prefix_len`.
Address Masked(const Address& address, int prefix_len) {
  Address out{};
  for (int i = 0; i < 16; ++i) {
    int bits = prefix_len - 8 * i;
    if (bits >= 8) {
      out[i] = address[i];
    } else if (bits > 0) {
      out[i] = address[i] & static_cast<uint8_t>(0xff << (8 - bits));
    }
  }
  return out;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Undoes URI percent-encoding ("%5B::1%5D:5000"); leaves malformed escapes.
std::string PercentDecode(absl::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size()) {
      int hi = HexDigit(in[i + 1]);
      int lo = HexDigit(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(in[i]);
  }
  return out;
}

// The address of a gRPC peer string, or nullopt for unix sockets and
// anything unparseable.
std::optional<Parsed> PeerAddress(absl::string_view peer) {
  std::string host;
  if (absl::ConsumePrefix(&peer, "ipv4:")) {
    absl::string_view rest = peer;
    size_t colon = rest.rfind(':');
    if (colon != absl::string_view::npos) rest = rest.substr(0, colon);
    host = std::string(rest);
  } else if (absl::ConsumePrefix(&peer, "ipv6:")) {
    std::string decoded = PercentDecode(peer);
    absl::string_view rest = decoded;
    if (absl::ConsumePrefix(&rest, "[")) {
      size_t close = rest.find(']');
      if (close == absl::string_view::npos) return std::nullopt;
      rest = rest.substr(0, close);
    } else if (!ParseAddress(rest).has_value()) {
      // Unbracketed "addr:port": the port follows the last colon.
      size_t colon = rest.rfind(':');
      if (colon != absl::string_view::npos) rest = rest.substr(0, colon);
    }
    // A zone ("fe80::1%eth0") does not take part in matching.
    size_t zone = rest.find('%');
    if (zone != absl::string_view::npos) rest = rest.substr(0, zone);
    host = std::string(rest);
  } else {
    return std::nullopt;
  }
  return ParseAddress(host);
}

bool Covers(const Address& network, int prefix_len, const Address& address) {
  return Masked(address, prefix_len) == network;
}

}  // namespace

absl::StatusOr<IpAllowlist> IpAllowlist::Parse(
    const std::vector<std::string>& cidrs) {
  IpAllowlist list;
  for (size_t i = 0; i < cidrs.size(); ++i) {
    auto error = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("ip_allowlist[", i, "]: \"", absl::CHexEscape(cidrs[i]),
                       "\" is not a CIDR (", why, ")"));
    };
    absl::string_view text = absl::StripAsciiWhitespace(cidrs[i]);
    if (text.empty()) return error("it is empty");
    absl::string_view address_text = text;
    absl::string_view prefix_text;
    bool has_prefix = false;
    size_t slash = text.find('/');
    if (slash != absl::string_view::npos) {
      address_text = text.substr(0, slash);
      prefix_text = text.substr(slash + 1);
      has_prefix = true;
    }
    std::optional<Parsed> parsed = ParseAddress(address_text);
    if (!parsed.has_value()) {
      return error(absl::StrCat("\"", absl::CHexEscape(address_text),
                                "\" is not an IPv4 or IPv6 address"));
    }
    const int max_len = parsed->v4 ? 32 : 128;
    int prefix_len = max_len;
    if (has_prefix) {
      bool digits = !prefix_text.empty() && prefix_text.size() <= 3;
      for (char c : prefix_text) digits = digits && absl::ascii_isdigit(c);
      if (!digits || !absl::SimpleAtoi(prefix_text, &prefix_len) ||
          prefix_len > max_len) {
        return error(
            absl::StrCat("the prefix length must be 0-", max_len));
      }
    }
    if (parsed->v4) prefix_len += 96;
    list.entries_.push_back(
        Entry{Masked(parsed->address, prefix_len), prefix_len});
  }
  return list;
}

bool IpAllowlist::Allows(absl::string_view grpc_peer) const {
  if (entries_.empty()) return true;
  std::optional<Parsed> peer = PeerAddress(grpc_peer);
  if (!peer.has_value()) return false;
  for (const Entry& entry : entries_) {
    if (Covers(entry.address, entry.prefix_len, peer->address)) return true;
  }
  return false;
}

}  // namespace pdp::server
