// Which identity a client certificate proves (SPIFFE X509-SVID §5), over
// real mTLS against the in-process server: a SPIFFE id only from exactly one
// URI SAN, a DNS SAN only ever a DNS name, and no CA certificate or leaf
// without client-auth usage as a caller.

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pdp/server/server.h"
#include "pdp/v1/authorizer.grpc.pb.h"
#include "tests/server/test_server.h"
#include "tests/testing/test_certs.h"

namespace pdp {
namespace servertest {
namespace {

using testcerts::IssueOptions;
using testcerts::KeyAndCert;

// Granted check by the test's config; only a URI SAN may prove it.
constexpr char kChecker[] = "spiffe://acme.example/checker";
// A DNS identity granted check.
constexpr char kDnsChecker[] = "checker.acme.example";

class CallerIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TestPki> pki = TestPki::Create();
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = std::make_unique<TestPki>(*std::move(pki));
    server::ServerConfig config = pki_->Config();
    config.callers.push_back({kChecker, {server::Permission::kCheck}});
    config.callers.push_back({kDnsChecker, {server::Permission::kCheck}});
    absl::StatusOr<std::unique_ptr<server::PdpServer>> server =
        server::PdpServer::Start(config);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  // A client certificate from the test CA: clientAuth, CA:FALSE,
  // digitalSignature unless `options` says otherwise.
  KeyAndCert Issue(IssueOptions options) {
    options.common_name = "client";
    absl::StatusOr<KeyAndCert> cert = pki_->ca().Issue(options);
    EXPECT_TRUE(cert.ok()) << cert.status();
    return cert.ok() ? *cert : KeyAndCert{};
  }

  // Authorizer.Check as the holder of `cert`.
  grpc::Status Check(const KeyAndCert& cert) {
    auto stub = v1::Authorizer::NewStub(
        MtlsChannel(server_->port(), pki_->ca().cert_pem(), &cert));
    v1::CheckResponse response;
    return stub->Check(Deadline().get(), AllowedCheck(), &response);
  }

  std::unique_ptr<TestPki> pki_;
  std::unique_ptr<server::PdpServer> server_;
};

// Refused either at the handshake or as a caller, never served.
void ExpectRefused(const grpc::Status& status) {
  EXPECT_TRUE(status.error_code() == grpc::StatusCode::UNAVAILABLE ||
              status.error_code() == grpc::StatusCode::PERMISSION_DENIED ||
              status.error_code() == grpc::StatusCode::UNAUTHENTICATED)
      << Describe(status);
}

TEST_F(CallerIdentityTest, OneSpiffeUriSanAndPlainDnsSanAreServed) {
  IssueOptions spiffe;
  spiffe.uri_sans = {kChecker};
  spiffe.client = true;
  grpc::Status status = Check(Issue(spiffe));
  EXPECT_TRUE(status.ok()) << Describe(status);

  IssueOptions dns;
  dns.dns_sans = {kDnsChecker};
  dns.client = true;
  status = Check(Issue(dns));
  EXPECT_TRUE(status.ok()) << Describe(status);

  // No extendedKeyUsage at all is allowed (it restricts only when present).
  IssueOptions no_eku;
  no_eku.uri_sans = {kChecker};
  status = Check(Issue(no_eku));
  EXPECT_TRUE(status.ok()) << Describe(status);
}

TEST_F(CallerIdentityTest, DnsSanSpellingASpiffeIdIsNotThatIdentity) {
  IssueOptions options;
  options.dns_sans = {kChecker};
  options.client = true;
  grpc::Status status = Check(Issue(options));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << Describe(status);
  EXPECT_NE(status.error_message().find("DNS"), std::string::npos)
      << Describe(status);
}

TEST_F(CallerIdentityTest, TwoUriSansAreRefused) {
  IssueOptions options;
  options.uri_sans = {kChecker, "spiffe://acme.example/other"};
  options.client = true;
  grpc::Status status = Check(Issue(options));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << Describe(status);
  EXPECT_NE(status.error_message().find("URI SAN"), std::string::npos)
      << Describe(status);

  // Nor does a DNS SAN next to them make the certificate acceptable.
  options.dns_sans = {kDnsChecker};
  ExpectRefused(Check(Issue(options)));
}

TEST_F(CallerIdentityTest, CaCertificateIsRefused) {
  IssueOptions options;
  options.uri_sans = {kChecker};
  options.client = true;
  options.ca = true;
  options.key_usage = "critical,digitalSignature,keyCertSign";
  ExpectRefused(Check(Issue(options)));
}

TEST_F(CallerIdentityTest, KeyUsageWithoutDigitalSignatureIsRefused) {
  IssueOptions options;
  options.uri_sans = {kChecker};
  options.client = true;
  options.key_usage = "critical,keyEncipherment";
  ExpectRefused(Check(Issue(options)));
}

TEST_F(CallerIdentityTest, ExtendedKeyUsageWithoutClientAuthIsRefused) {
  IssueOptions options;
  options.uri_sans = {kChecker};
  options.server = true;  // serverAuth only.
  ExpectRefused(Check(Issue(options)));
}

}  // namespace
}  // namespace servertest
}  // namespace pdp
