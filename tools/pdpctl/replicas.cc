#include "tools/pdpctl/replicas.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace pdpctl {
namespace {

struct HostPort {
  std::string host;  // Without brackets.
  std::string port;
  bool bracketed = false;
};

// "host:port" or "[v6]:port"; nullopt for anything else.
std::optional<HostPort> SplitHostPort(const std::string& server) {
  HostPort out;
  size_t colon;
  if (absl::StartsWith(server, "[")) {
    const size_t close = server.find(']');
    if (close == std::string::npos || close + 1 >= server.size() ||
        server[close + 1] != ':') {
      return std::nullopt;
    }
    out.host = server.substr(1, close - 1);
    out.bracketed = true;
    colon = close + 1;
  } else {
    colon = server.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    out.host = server.substr(0, colon);
    if (out.host.find(':') != std::string::npos) return std::nullopt;
  }
  out.port = server.substr(colon + 1);
  if (out.host.empty() || out.port.empty() ||
      !std::all_of(out.port.begin(), out.port.end(),
                   [](char c) { return absl::ascii_isdigit(c); })) {
    return std::nullopt;
  }
  return out;
}

bool IsLiteralAddress(const std::string& host) {
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

}  // namespace

std::string Replica::Label() const {
  return address.empty() ? server : absl::StrCat(server, " (", address, ")");
}

absl::StatusOr<std::vector<std::string>> ResolveHost(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int error = getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (error != 0) {
    const std::string message =
        absl::StrCat("cannot resolve \"", host, "\": ", gai_strerror(error));
    return error == EAI_NONAME || error == EAI_NODATA
               ? absl::NotFoundError(message)
               : absl::UnavailableError(message);
  }
  std::vector<std::string> addresses;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    const void* raw = nullptr;
    if (a->ai_family == AF_INET) {
      raw = &reinterpret_cast<const sockaddr_in*>(a->ai_addr)->sin_addr;
    } else if (a->ai_family == AF_INET6) {
      raw = &reinterpret_cast<const sockaddr_in6*>(a->ai_addr)->sin6_addr;
    }
    if (raw == nullptr ||
        inet_ntop(a->ai_family, raw, text, sizeof(text)) == nullptr) {
      continue;
    }
    if (std::find(addresses.begin(), addresses.end(), text) ==
        addresses.end()) {
      addresses.push_back(text);
    }
  }
  freeaddrinfo(found);
  if (addresses.empty()) {
    return absl::NotFoundError(
        absl::StrCat("\"", host, "\" resolves to no IPv4 or IPv6 address"));
  }
  return addresses;
}

absl::StatusOr<std::vector<Replica>> ExpandServer(const std::string& server,
                                                  const HostResolver& resolve) {
  std::optional<HostPort> parts = SplitHostPort(server);
  if (!parts.has_value() || parts->bracketed || IsLiteralAddress(parts->host) ||
      server.find('/') != std::string::npos) {
    return std::vector<Replica>{{server, "", ""}};
  }
  absl::StatusOr<std::vector<std::string>> addresses = resolve(parts->host);
  if (!addresses.ok()) return addresses.status();
  std::vector<Replica> replicas;
  for (const std::string& address : *addresses) {
    Replica replica;
    replica.server = server;
    replica.address = address.find(':') != std::string::npos
                          ? absl::StrCat("[", address, "]:", parts->port)
                          : absl::StrCat(address, ":", parts->port);
    replica.tls_name = parts->host;
    if (std::none_of(replicas.begin(), replicas.end(), [&](const Replica& r) {
          return r.address == replica.address;
        })) {
      replicas.push_back(std::move(replica));
    }
  }
  if (replicas.empty()) {
    return absl::NotFoundError(
        absl::StrCat("\"", parts->host, "\" resolves to no address"));
  }
  return replicas;
}

}  // namespace pdpctl
