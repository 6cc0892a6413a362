// Certificate rotation without a restart: the server re-reads its
// certificate and key files, and new connections get the new certificate.

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pdp/server/config.h"
#include "pdp/server/server.h"
#include "pdp/v1/authorizer.grpc.pb.h"
#include "tests/server/test_server.h"
#include "tests/testing/test_certs.h"

namespace pdp {
namespace servertest {
namespace {

using testcerts::KeyAndCert;
using servertest::Describe;  // Of a grpc::Status; overloaded below.

std::string Describe(const CertId& id) {
  return absl::StrCat("CN=", id.common_name, " serial=", id.serial);
}

TEST(RotationTest, ReplacedCertificateFilesAreServedWithoutARestart) {
  absl::StatusOr<TestPki> pki = TestPki::Create();
  ASSERT_TRUE(pki.ok()) << pki.status();
  absl::StatusOr<KeyAndCert> gateway = pki->Client(kGateway);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  absl::StatusOr<CertId> a = IdOf(pki->server().cert_pem);
  ASSERT_TRUE(a.ok()) << a.status();
  absl::StatusOr<KeyAndCert> b_files = pki->ServerCert("pdp-server-rotated");
  ASSERT_TRUE(b_files.ok()) << b_files.status();
  absl::StatusOr<CertId> b = IdOf(b_files->cert_pem);
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_NE(a->serial, b->serial);
  ASSERT_NE(a->common_name, b->common_name);

  server::ServerConfig config = pki->Config();
  config.tls.reload_interval_seconds = 1;
  absl::StatusOr<std::unique_ptr<server::PdpServer>> server =
      server::PdpServer::Start(config);
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  const std::string& ca = pki->ca().cert_pem();

  absl::StatusOr<CertId> served = ServedCertificate(port, ca, *gateway);
  ASSERT_TRUE(served.ok()) << served.status();
  EXPECT_EQ(*served, *a) << "served " << Describe(*served) << ", expected "
                         << Describe(*a);
  // A connection opened before the rotation.
  std::unique_ptr<v1::Authorizer::Stub> before =
      v1::Authorizer::NewStub(MtlsChannel(port, ca, &*gateway));
  v1::CheckResponse response;
  grpc::Status status =
      before->Check(Deadline().get(), AllowedCheck(), &response);
  ASSERT_TRUE(status.ok()) << Describe(status);

  // Each file is replaced atomically; the key first, as an operator would
  // (a reader may briefly see the new key with the old certificate).
  ASSERT_TRUE(testcerts::WriteFile(pki->key_file(), b_files->key_pem).ok());
  ASSERT_TRUE(testcerts::WriteFile(pki->cert_file(), b_files->cert_pem).ok());

  // Poll with fresh connections until the new certificate is served.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  std::string last = "no attempt";
  bool rotated = false;
  while (absl::Now() < deadline) {
    served = ServedCertificate(port, ca, *gateway);
    if (served.ok() && *served == *b) {
      rotated = true;
      break;
    }
    last = served.ok() ? Describe(*served) : served.status().ToString();
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_TRUE(rotated) << "still serving " << last << " 10 s after the files "
                       << "were replaced; expected " << Describe(*b);

  // A new gRPC connection verifies the new certificate and is served, and so
  // is the connection opened before.
  std::unique_ptr<v1::Authorizer::Stub> after =
      v1::Authorizer::NewStub(MtlsChannel(port, ca, &*gateway));
  status = after->Check(Deadline().get(), AllowedCheck(), &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(response.decision().effect(), v1::EFFECT_ALLOW);
  status = before->Check(Deadline().get(), AllowedCheck(), &response);
  EXPECT_TRUE(status.ok()) << Describe(status);
}

}  // namespace
}  // namespace servertest
}  // namespace pdp
