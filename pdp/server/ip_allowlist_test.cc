#include "pdp/server/ip_allowlist.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pdp::server {
namespace {

using ::testing::HasSubstr;

IpAllowlist MustParse(const std::vector<std::string>& cidrs) {
  absl::StatusOr<IpAllowlist> list = IpAllowlist::Parse(cidrs);
  EXPECT_TRUE(list.ok()) << list.status();
  return list.ok() ? *std::move(list) : IpAllowlist();
}

TEST(IpAllowlistTest, EmptyAllowsEveryone) {
  IpAllowlist defaulted;
  IpAllowlist parsed = MustParse({});
  for (const IpAllowlist* list : {&defaulted, &parsed}) {
    EXPECT_TRUE(list->empty());
    EXPECT_TRUE(list->Allows("ipv4:203.0.113.9:443"));
    EXPECT_TRUE(list->Allows("ipv6:[2001:db8::1]:443"));
    EXPECT_TRUE(list->Allows("unix:/var/run/pdp.sock"));
    EXPECT_TRUE(list->Allows("garbage"));
    EXPECT_TRUE(list->Allows(""));
  }
}

TEST(IpAllowlistTest, Ipv4Cidrs) {
  IpAllowlist list = MustParse({"10.0.0.0/8", "192.168.1.0/24"});
  EXPECT_FALSE(list.empty());
  EXPECT_TRUE(list.Allows("ipv4:10.0.0.0:1"));
  EXPECT_TRUE(list.Allows("ipv4:10.255.255.255:65535"));
  EXPECT_TRUE(list.Allows("ipv4:10.1.2.3:5000"));
  EXPECT_FALSE(list.Allows("ipv4:11.0.0.0:5000"));
  EXPECT_FALSE(list.Allows("ipv4:9.255.255.255:5000"));
  EXPECT_TRUE(list.Allows("ipv4:192.168.1.77:5000"));
  EXPECT_FALSE(list.Allows("ipv4:192.168.2.77:5000"));
  EXPECT_FALSE(list.Allows("ipv4:127.0.0.1:5000"));
}

TEST(IpAllowlistTest, NonOctetPrefixes) {
  IpAllowlist list = MustParse({"172.16.0.0/12", "198.51.100.128/25"});
  EXPECT_TRUE(list.Allows("ipv4:172.16.0.1:1"));
  EXPECT_TRUE(list.Allows("ipv4:172.31.255.255:1"));
  EXPECT_FALSE(list.Allows("ipv4:172.32.0.0:1"));
  EXPECT_FALSE(list.Allows("ipv4:172.15.255.255:1"));
  EXPECT_TRUE(list.Allows("ipv4:198.51.100.128:1"));
  EXPECT_TRUE(list.Allows("ipv4:198.51.100.255:1"));
  EXPECT_FALSE(list.Allows("ipv4:198.51.100.127:1"));
}

TEST(IpAllowlistTest, BareAddressIsOneHost) {
  IpAllowlist list = MustParse({"127.0.0.1", "::1"});
  EXPECT_TRUE(list.Allows("ipv4:127.0.0.1:5000"));
  EXPECT_FALSE(list.Allows("ipv4:127.0.0.2:5000"));
  EXPECT_TRUE(list.Allows("ipv6:[::1]:5000"));
  EXPECT_FALSE(list.Allows("ipv6:[::2]:5000"));
}

TEST(IpAllowlistTest, HostBitsAreIgnored) {
  IpAllowlist list = MustParse({"10.1.2.3/8", "2001:db8::ffff/32"});
  EXPECT_TRUE(list.Allows("ipv4:10.200.0.1:1"));
  EXPECT_TRUE(list.Allows("ipv6:[2001:db8:1::1]:1"));
}

TEST(IpAllowlistTest, ZeroPrefixAllowsTheWholeFamily) {
  IpAllowlist v4 = MustParse({"0.0.0.0/0"});
  EXPECT_TRUE(v4.Allows("ipv4:1.2.3.4:1"));
  EXPECT_TRUE(v4.Allows("ipv4:255.255.255.255:1"));
  EXPECT_TRUE(v4.Allows("ipv6:[::ffff:1.2.3.4]:1"));  // Mapped IPv4.
  EXPECT_FALSE(v4.Allows("ipv6:[2001:db8::1]:1"));
  EXPECT_FALSE(v4.Allows("unix:/tmp/s"));

  IpAllowlist v6 = MustParse({"::/0"});
  EXPECT_TRUE(v6.Allows("ipv6:[2001:db8::1]:1"));
  EXPECT_TRUE(v6.Allows("ipv6:[::]:1"));
  // Every IPv4 address is inside ::/0 as ::ffff:a.b.c.d.
  EXPECT_TRUE(v6.Allows("ipv4:1.2.3.4:1"));
  EXPECT_FALSE(v6.Allows("unix:/tmp/s"));
}

TEST(IpAllowlistTest, Ipv6Cidrs) {
  IpAllowlist list = MustParse({"2001:db8::/32", "fd00::/8", "fe80::/10"});
  EXPECT_TRUE(list.Allows("ipv6:[2001:db8::1]:5000"));
  EXPECT_TRUE(list.Allows("ipv6:[2001:db8:ffff:ffff:ffff:ffff:ffff:ffff]:1"));
  EXPECT_FALSE(list.Allows("ipv6:[2001:db9::1]:5000"));
  EXPECT_TRUE(list.Allows("ipv6:[fd12:3456::1]:5000"));
  EXPECT_FALSE(list.Allows("ipv6:[fe00::1]:5000"));
  EXPECT_TRUE(list.Allows("ipv6:[febf::1]:5000"));
  EXPECT_FALSE(list.Allows("ipv6:[fec0::1]:5000"));
  EXPECT_FALSE(list.Allows("ipv4:10.0.0.1:5000"));
}

TEST(IpAllowlistTest, PeerFormats) {
  IpAllowlist list = MustParse({"::1", "127.0.0.0/8"});
  EXPECT_TRUE(list.Allows("ipv6:[::1]:5000"));
  EXPECT_TRUE(list.Allows("ipv6:%5B::1%5D:5000"));  // URL-encoded brackets.
  EXPECT_TRUE(list.Allows("ipv6:%5b::1%5d:5000"));  // Lower-case hex.
  EXPECT_TRUE(list.Allows("ipv6:[0:0:0:0:0:0:0:1]:5000"));
  EXPECT_TRUE(list.Allows("ipv6:[::1]"));  // No port.
  EXPECT_TRUE(list.Allows("ipv6:::1"));    // Bare, no port.
  EXPECT_TRUE(list.Allows("ipv4:127.0.0.1"));
  EXPECT_TRUE(list.Allows("ipv4:127.9.9.9:0"));
  // Malformed peers are refused, never crash.
  EXPECT_FALSE(list.Allows(""));
  EXPECT_FALSE(list.Allows("127.0.0.1:5000"));  // No scheme.
  EXPECT_FALSE(list.Allows("ipv4:"));
  EXPECT_FALSE(list.Allows("ipv4:localhost:5000"));
  EXPECT_FALSE(list.Allows("ipv4:127.0.0.1.5:5000"));
  EXPECT_FALSE(list.Allows("ipv6:[::1:5000"));
  EXPECT_FALSE(list.Allows("ipv6:%5B::1:5000"));
  EXPECT_FALSE(list.Allows("ipv6:"));
  EXPECT_FALSE(list.Allows("ipv6:[]:5000"));
  EXPECT_FALSE(list.Allows("ipv6:%"));
  EXPECT_FALSE(list.Allows("ipv6:%5"));
  EXPECT_FALSE(list.Allows("ipv4:127.0.0.1%00:1"));
  EXPECT_FALSE(list.Allows(std::string("ipv4:127.0.0.1\0:1", 18)));
  EXPECT_FALSE(list.Allows("ipv6:[" + std::string(100, '1') + "]:1"));
  EXPECT_FALSE(list.Allows("IPV4:127.0.0.1:1"));
}

TEST(IpAllowlistTest, UnixSocketsAreRefusedByANonEmptyList) {
  IpAllowlist list = MustParse({"0.0.0.0/0", "::/0"});
  EXPECT_FALSE(list.Allows("unix:/var/run/pdp.sock"));
  EXPECT_FALSE(list.Allows("unix-abstract:pdp"));
  EXPECT_FALSE(list.Allows("unix:127.0.0.1"));
}

TEST(IpAllowlistTest, Ipv4MappedPeersMatchIpv4Cidrs) {
  IpAllowlist list = MustParse({"10.0.0.0/8"});
  EXPECT_TRUE(list.Allows("ipv6:[::ffff:10.1.2.3]:5000"));
  EXPECT_TRUE(list.Allows("ipv6:%5B::ffff:10.1.2.3%5D:5000"));
  EXPECT_TRUE(list.Allows("ipv6:[::ffff:a01:203]:5000"));  // Hex form.
  EXPECT_FALSE(list.Allows("ipv6:[::ffff:11.1.2.3]:5000"));
  // Not mapped: ::a01:203 (IPv4-compatible, deprecated) and NAT64.
  EXPECT_FALSE(list.Allows("ipv6:[::10.1.2.3]:5000"));
  EXPECT_FALSE(list.Allows("ipv6:[64:ff9b::10.1.2.3]:5000"));
}

TEST(IpAllowlistTest, MappedIpv6CidrsMatchIpv4Peers) {
  IpAllowlist list = MustParse({"::ffff:10.0.0.0/104"});
  EXPECT_TRUE(list.Allows("ipv4:10.9.8.7:1"));
  EXPECT_FALSE(list.Allows("ipv4:11.9.8.7:1"));
}

TEST(IpAllowlistTest, Ipv4CidrDoesNotMatchOtherIpv6) {
  // 10.0.0.0/8 as mapped space must not leak onto IPv6 addresses whose low
  // 32 bits look alike.
  IpAllowlist list = MustParse({"10.0.0.0/8"});
  EXPECT_FALSE(list.Allows("ipv6:[2001:db8::a01:203]:1"));
  EXPECT_FALSE(list.Allows("ipv6:[::]:1"));
}

TEST(IpAllowlistTest, ZoneIdIsIgnored) {
  IpAllowlist list = MustParse({"fe80::/10"});
  EXPECT_TRUE(list.Allows("ipv6:[fe80::1%eth0]:5000"));
  EXPECT_TRUE(list.Allows("ipv6:%5Bfe80::1%25eth0%5D:5000"));
}

TEST(IpAllowlistTest, WhitespaceAroundEntriesIsIgnored) {
  IpAllowlist list = MustParse({" 10.0.0.0/8 ", "\t::1\n"});
  EXPECT_TRUE(list.Allows("ipv4:10.0.0.1:1"));
  EXPECT_TRUE(list.Allows("ipv6:[::1]:1"));
}

TEST(IpAllowlistTest, CopiesAreIndependent) {
  IpAllowlist list = MustParse({"10.0.0.0/8"});
  IpAllowlist copy = list;
  list = IpAllowlist();
  EXPECT_TRUE(list.Allows("ipv4:11.0.0.1:1"));
  EXPECT_FALSE(copy.Allows("ipv4:11.0.0.1:1"));
  EXPECT_TRUE(copy.Allows("ipv4:10.0.0.1:1"));
}

struct BadEntry {
  std::string entry;
  std::string why;
};

class IpAllowlistErrorTest : public ::testing::TestWithParam<BadEntry> {};

TEST_P(IpAllowlistErrorTest, NamesTheEntry) {
  const BadEntry& bad = GetParam();
  absl::StatusOr<IpAllowlist> list =
      IpAllowlist::Parse({"127.0.0.1", "::1", bad.entry, "10.0.0.0/8"});
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(list.status().message(), HasSubstr("ip_allowlist[2]: \""));
  EXPECT_THAT(list.status().message(), HasSubstr("\" is not a CIDR"));
  EXPECT_THAT(list.status().message(), HasSubstr(bad.why));
}

INSTANTIATE_TEST_SUITE_P(
    BadEntries, IpAllowlistErrorTest,
    ::testing::Values(
        BadEntry{"10.0.0.0/33", "the prefix length must be 0-32"},
        BadEntry{"::/129", "the prefix length must be 0-128"},
        BadEntry{"10.0.0.0/", "the prefix length must be 0-32"},
        BadEntry{"10.0.0.0/-1", "the prefix length must be 0-32"},
        BadEntry{"10.0.0.0/+8", "the prefix length must be 0-32"},
        BadEntry{"10.0.0.0/8/8", "the prefix length must be 0-32"},
        BadEntry{"10.0.0.0/0008", "the prefix length must be 0-32"},
        BadEntry{"10.0.0.0/ 8", "the prefix length must be 0-32"},
        BadEntry{"10.0.0.0/8a", "the prefix length must be 0-32"},
        BadEntry{"10.0.0/8", "is not an IPv4 or IPv6 address"},
        BadEntry{"256.0.0.0/8", "is not an IPv4 or IPv6 address"},
        BadEntry{"localhost", "is not an IPv4 or IPv6 address"},
        BadEntry{"/8", "is not an IPv4 or IPv6 address"},
        BadEntry{"[::1]/128", "is not an IPv4 or IPv6 address"},
        BadEntry{"fe80::1%eth0", "is not an IPv4 or IPv6 address"},
        BadEntry{"", "it is empty"},
        BadEntry{"   ", "it is empty"}));

TEST(IpAllowlistTest, ErrorMessageIsTheDocumentedSentence) {
  absl::StatusOr<IpAllowlist> list =
      IpAllowlist::Parse({"10.0.0.0/8", "::1", "10.0.0.0/33"});
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.status().message(),
            "ip_allowlist[2]: \"10.0.0.0/33\" is not a CIDR (the prefix "
            "length must be 0-32)");
  list = IpAllowlist::Parse({std::string("1.2.3.4\x01", 8)});
  ASSERT_FALSE(list.ok());
  EXPECT_THAT(list.status().message(), HasSubstr("\"1.2.3.4\\x01\""));
}

}  // namespace
}  // namespace pdp::server
