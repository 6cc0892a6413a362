#include "pdp/token/thumbprint.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pdp/token/base64url.h"
#include "pdp/token/testing/token_minter.h"

namespace pdp {
namespace token {
namespace {

using ::testing::HasSubstr;

// Made with `openssl req -x509 -newkey ec ...`; its thumbprint computed with
// `openssl x509 -outform DER | openssl dgst -sha256 -binary | base64` (made
// URL-safe, unpadded).
constexpr char kCertificate[] = R"(-----BEGIN CERTIFICATE-----
MIIBgzCCASmgAwIBAgIULdvBA9Qkkf1SqGtq716+t1AGB/IwCgYIKoZIzj0EAwIw
FjEUMBIGA1UEAwwLa2F0LmV4YW1wbGUwIBcNMjYxMTI2MDY0MzMzWhgPMjEyNjEx
MDIwNjQzMzNaMBYxFDASBgNVBAMMC2thdC5leGFtcGxlMFkwEwYHKoZIzj0CAQYI
KoZIzj0DAQcDQgAErXsmSYf+eRwWWPN476Do2/xyqsAOiR/ITSKMWCSRITrEiASE
M2cMRi1lBXZGo9itj5i7pyKzueh3KapOuHSMvaNTMFEwHQYDVR0OBBYEFMB9q6uU
qXH6x1zb46wILImsvw21MB8GA1UdIwQYMBaAFMB9q6uUqXH6x1zb46wILImsvw21
MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgbYrPo4R/yTGsvVRz
BMtc7KBaIleUuBJFexhGnNBVY5ACIQCjEVBnMzz4YWo46qYsFA6MJcbGkHzX2PCG
8WHl6AKW5A==
-----END CERTIFICATE-----
)";
constexpr char kThumbprint[] = "5dXPPfrOwvFnoaUb2tSCDFJO35UJaKRV0X7ozQ2WrDc";

std::string ToDer(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  EXPECT_NE(cert, nullptr);
  unsigned char* der = nullptr;
  const int size = i2d_X509(cert, &der);
  std::string out(reinterpret_cast<char*>(der), size);
  OPENSSL_free(der);
  X509_free(cert);
  return out;
}

TEST(ThumbprintTest, KnownAnswer) {
  absl::StatusOr<std::string> thumbprint = CertificateThumbprint(kCertificate);
  ASSERT_TRUE(thumbprint.ok()) << thumbprint.status();
  EXPECT_EQ(*thumbprint, kThumbprint);
  absl::StatusOr<std::string> from_der =
      CertificateThumbprint(ToDer(kCertificate));
  ASSERT_TRUE(from_der.ok()) << from_der.status();
  EXPECT_EQ(*from_der, kThumbprint);
}

TEST(ThumbprintTest, PemAndDerAgreeAndCertificatesDiffer) {
  const std::string a = SelfSignedCertificatePem("a");
  const std::string b = SelfSignedCertificatePem("b");
  absl::StatusOr<std::string> ta = CertificateThumbprint(a);
  ASSERT_TRUE(ta.ok()) << ta.status();
  EXPECT_EQ(ta->size(), 43u);  // 32 bytes, base64url.
  EXPECT_EQ(*CertificateThumbprint(ToDer(a)), *ta);
  EXPECT_NE(*CertificateThumbprint(b), *ta);
  // A chain: the first certificate counts.
  EXPECT_EQ(*CertificateThumbprint(a + b), *ta);
  // Text before the PEM block is ignored.
  EXPECT_EQ(*CertificateThumbprint("subject=CN = a\n" + a), *ta);
}

TEST(ThumbprintTest, RefusesWhatIsNotACertificate) {
  const TestSigningKey key =
      TestSigningKey::Generate(JwsAlgorithm::kEs256, "k");
  const std::string der = ToDer(kCertificate);
  for (const std::string& bad :
       {std::string(""), std::string("hello"), key.PublicKeyPem(),
        std::string("-----BEGIN CERTIFICATE-----\nAAAA\n-----END "
                    "CERTIFICATE-----\n"),
        der.substr(0, der.size() - 1), der + "x"}) {
    absl::StatusOr<std::string> thumbprint = CertificateThumbprint(bad);
    EXPECT_EQ(thumbprint.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(thumbprint.status().message(),
                HasSubstr("not an X.509 certificate"));
  }
}

}  // namespace
}  // namespace token
}  // namespace pdp
