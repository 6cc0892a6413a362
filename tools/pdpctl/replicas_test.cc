#include "tools/pdpctl/replicas.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pdpctl {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;

// A resolver over a fixed table; records the names it was asked for.
struct FakeResolver {
  std::map<std::string, std::vector<std::string>> table;
  std::vector<std::string> asked;

  HostResolver Get() {
    return [this](const std::string& host)
               -> absl::StatusOr<std::vector<std::string>> {
      asked.push_back(host);
      auto it = table.find(host);
      if (it == table.end()) {
        return absl::NotFoundError("cannot resolve \"" + host + "\"");
      }
      return it->second;
    };
  }
};

std::vector<std::string> Labels(const std::vector<Replica>& replicas) {
  std::vector<std::string> labels;
  for (const Replica& r : replicas) labels.push_back(r.Label());
  return labels;
}

TEST(ExpandServerTest, NameExpandsToEveryAddressV4AndV6Deduplicated) {
  FakeResolver dns;
  dns.table["pdp-headless.pdp.svc"] = {"10.0.0.5", "fd00::5", "10.0.0.6",
                                       "10.0.0.5"};
  absl::StatusOr<std::vector<Replica>> replicas =
      ExpandServer("pdp-headless.pdp.svc:8443", dns.Get());
  ASSERT_TRUE(replicas.ok()) << replicas.status();
  EXPECT_THAT(Labels(*replicas),
              ElementsAre("pdp-headless.pdp.svc:8443 (10.0.0.5:8443)",
                          "pdp-headless.pdp.svc:8443 ([fd00::5]:8443)",
                          "pdp-headless.pdp.svc:8443 (10.0.0.6:8443)"));
  for (const Replica& r : *replicas) {
    EXPECT_EQ(r.server, "pdp-headless.pdp.svc:8443");
    EXPECT_EQ(r.tls_name, "pdp-headless.pdp.svc");  // Verified against it.
    EXPECT_EQ(r.target(), r.address);
  }
  EXPECT_THAT(dns.asked, ElementsAre("pdp-headless.pdp.svc"));
}

TEST(ExpandServerTest, LiteralAddressesAndTargetsStayOneServer) {
  FakeResolver dns;
  for (const char* server :
       {"127.0.0.1:8443", "[::1]:8443", "[fd00::5]:9", "unix:/run/pdp.sock",
        "dns:///pdp.example:443", "ipv4:10.0.0.1:1", "pdp.example"}) {
    absl::StatusOr<std::vector<Replica>> replicas =
        ExpandServer(server, dns.Get());
    ASSERT_TRUE(replicas.ok()) << server;
    ASSERT_EQ(replicas->size(), 1u) << server;
    EXPECT_EQ((*replicas)[0].Label(), server);
    EXPECT_EQ((*replicas)[0].target(), server);
    EXPECT_THAT((*replicas)[0].tls_name, IsEmpty());
  }
  EXPECT_THAT(dns.asked, IsEmpty());
}

TEST(ExpandServerTest, ResolverFailureOrNoAddressIsAnError) {
  FakeResolver dns;
  dns.table["empty.example"] = {};
  absl::StatusOr<std::vector<Replica>> replicas =
      ExpandServer("nowhere.example:8443", dns.Get());
  EXPECT_EQ(replicas.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(replicas.status().message()),
              ::testing::HasSubstr("nowhere.example"));
  replicas = ExpandServer("empty.example:8443", dns.Get());
  EXPECT_EQ(replicas.status().code(), absl::StatusCode::kNotFound);
}

TEST(ResolveHostTest, ResolvesLocalhostToLoopbackAddressesOnce) {
  absl::StatusOr<std::vector<std::string>> addresses = ResolveHost("localhost");
  ASSERT_TRUE(addresses.ok()) << addresses.status();
  ASSERT_THAT(*addresses, Not(IsEmpty()));
  for (const std::string& address : *addresses) {
    EXPECT_TRUE(address == "127.0.0.1" || address == "::1") << address;
  }
  std::vector<std::string> sorted = *addresses;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::unique(sorted.begin(), sorted.end()), sorted.end());
  // Numeric input resolves to itself.
  EXPECT_THAT(*ResolveHost("10.1.2.3"), ElementsAre("10.1.2.3"));
  EXPECT_FALSE(ResolveHost("no-such-host.invalid").ok());
}

}  // namespace
}  // namespace pdpctl
