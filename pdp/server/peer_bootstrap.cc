#include "pdp/server/peer_bootstrap.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <iostream>
#include <set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "pdp/v1/admin.grpc.pb.h"

namespace pdp::server {
namespace {

// Splits "host:port" or "[v6]:port"; the host without brackets.
bool SplitHostPort(const std::string& peer, std::string* host, int* port) {
  const size_t colon = peer.rfind(':');
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(peer.substr(colon + 1), port)) {
    return false;
  }
  *host = peer.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  return !host->empty();
}

std::string Numeric(const sockaddr* address) {
  char text[INET6_ADDRSTRLEN] = {};
  const void* raw = nullptr;
  if (address->sa_family == AF_INET) {
    raw = &reinterpret_cast<const sockaddr_in*>(address)->sin_addr;
  } else if (address->sa_family == AF_INET6) {
    raw = &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr;
  }
  if (raw == nullptr ||
      inet_ntop(address->sa_family, raw, text, sizeof(text)) == nullptr) {
    return "";
  }
  return text;
}

// Every address `host` resolves to, IPv4 and IPv6, each once; or why not.
absl::StatusOr<std::vector<std::string>> Resolve(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int error = getaddrinfo(host.c_str(), nullptr, &hints, &found);
      error != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot resolve \"", host, "\": ", gai_strerror(error)));
  }
  std::vector<std::string> addresses;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    std::string text = Numeric(a->ai_addr);
    if (!text.empty() && std::find(addresses.begin(), addresses.end(), text) ==
                             addresses.end()) {
      addresses.push_back(std::move(text));
    }
  }
  freeaddrinfo(found);
  return addresses;
}

// The addresses of this host's interfaces.
std::set<std::string> LocalAddresses() {
  std::set<std::string> local;
  ifaddrs* interfaces = nullptr;
  if (getifaddrs(&interfaces) != 0) return local;
  for (const ifaddrs* i = interfaces; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    std::string text = Numeric(i->ifa_addr);
    if (!text.empty()) local.insert(std::move(text));
  }
  freeifaddrs(interfaces);
  return local;
}

}  // namespace

PeerBootstrap::PeerBootstrap(Options options, InstallFn install,
                             HasPolicyFn has_policy)
    : options_(std::move(options)),
      install_(std::move(install)),
      has_policy_(std::move(has_policy)) {}

std::unique_ptr<PeerBootstrap> PeerBootstrap::Start(Options options,
                                                    InstallFn install,
                                                    HasPolicyFn has_policy) {
  std::unique_ptr<PeerBootstrap> bootstrap(new PeerBootstrap(
      std::move(options), std::move(install), std::move(has_policy)));
  bootstrap->thread_ = std::thread([b = bootstrap.get()] { b->Run(); });
  return bootstrap;
}

PeerBootstrap::~PeerBootstrap() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (call_ != nullptr) call_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

void PeerBootstrap::Run() {
  absl::Duration backoff = options_.initial_backoff;
  while (true) {
    const bool done = Round();
    absl::MutexLock lock(&mu_);
    ++rounds_;
    if (done || stopping_) {
      finished_ = done;
      return;
    }
    if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), backoff)) return;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

bool PeerBootstrap::Round() {
  if (has_policy_()) return true;
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      options_.credentials();
  if (!credentials.ok()) {
    std::cerr << "pdp-server: bootstrap: " << credentials.status().message()
              << "\n";
    return false;
  }
  const std::set<std::string> local = LocalAddresses();
  for (const std::string& peer : options_.peers) {
    std::string host;
    int port = 0;
    if (!SplitHostPort(peer, &host, &port)) {
      std::cerr << "pdp-server: bootstrap: \"" << peer
                << "\" is not host:port\n";
      continue;
    }
    absl::StatusOr<std::vector<std::string>> addresses = Resolve(host);
    if (!addresses.ok()) {
      std::cerr << "pdp-server: bootstrap: " << peer << ": "
                << addresses.status().message() << "\n";
      continue;
    }
    for (const std::string& address : *addresses) {
      if (port == options_.own_port && local.count(address) > 0) continue;
      const std::string target = address.find(':') != std::string::npos
                                     ? absl::StrCat("[", address, "]:", port)
                                     : absl::StrCat(address, ":", port);
      if (Ask(*credentials, peer, host, target)) return true;
    }
  }
  return false;
}

bool PeerBootstrap::Ask(
    const std::shared_ptr<grpc::ChannelCredentials>& credentials,
    const std::string& peer, const std::string& host,
    const std::string& address) {
  if (has_policy_()) return true;
  grpc::ChannelArguments args;
  if (options_.verify_host_name) args.SetSslTargetNameOverride(host);
  auto stub = v1::PolicyAdmin::NewStub(
      grpc::CreateCustomChannel(address, credentials, args));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return false;
    call_ = &context;
  }
  v1::SignedBundle bundle;
  const grpc::Status status =
      stub->GetBundle(&context, v1::GetBundleRequest(), &bundle);
  {
    absl::MutexLock lock(&mu_);
    call_ = nullptr;
  }
  const std::string who = absl::StrCat(peer, " (", address, ")");
  if (!status.ok()) {
    std::cerr << "pdp-server: bootstrap: " << who << ": "
              << absl::StatusCodeToString(
                     static_cast<absl::StatusCode>(status.error_code()))
              << ": " << status.error_message() << "\n";
    return false;
  }
  const absl::Status installed = install_(bundle);
  if (installed.ok()) {
    std::cerr << "pdp-server: bootstrap: the active bundle of " << who
              << " is active here\n";
    return true;
  }
  if (installed.code() == absl::StatusCode::kFailedPrecondition) {
    std::cerr << "pdp-server: bootstrap: a newer bundle is active already; "
                 "not taking the one of "
              << who << "\n";
    return true;
  }
  std::cerr << "pdp-server: bootstrap: refused the bundle of " << who << ": "
            << installed.message() << "\n";
  return false;
}

bool PeerBootstrap::AwaitFinished(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(&finished_), timeout);
}

bool PeerBootstrap::AwaitRounds(int rounds, absl::Duration timeout) const {
  struct Wait {
    const PeerBootstrap* self;
    int rounds;
    static bool Done(Wait* w) ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return w->self->finished_ || w->self->rounds_ >= w->rounds;
    }
  } wait{this, rounds};
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(&Wait::Done, &wait), timeout);
}

}  // namespace pdp::server
