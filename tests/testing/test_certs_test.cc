#include "tests/testing/test_certs.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pdp {
namespace testcerts {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

X509Ptr ParseCert(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

PkeyPtr ParseKey(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

// X509_V_OK, or the error X509_verify_cert reports for `cert_pem` against
// the single trusted root `ca_pem`. `purpose` is an X509_PURPOSE_* or 0.
int Verify(const std::string& ca_pem, const std::string& cert_pem,
           int purpose = 0) {
  X509Ptr ca = ParseCert(ca_pem);
  X509Ptr cert = ParseCert(cert_pem);
  if (ca == nullptr || cert == nullptr) return -1;
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(
      X509_STORE_new(), &X509_STORE_free);
  X509_STORE_add_cert(store.get(), ca.get());
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(
      X509_STORE_CTX_new(), &X509_STORE_CTX_free);
  X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr);
  if (purpose != 0) X509_STORE_CTX_set_purpose(ctx.get(), purpose);
  if (X509_verify_cert(ctx.get()) == 1) return X509_V_OK;
  int err = X509_STORE_CTX_get_error(ctx.get());
  return err == X509_V_OK ? -2 : err;
}

std::string VerifyErrorName(int err) {
  return err < 0 ? absl::StrCat("unparseable (", err, ")")
                 : X509_verify_cert_error_string(err);
}

struct Sans {
  std::vector<std::string> dns, uri, ip;
};

Sans ParseSans(const std::string& cert_pem) {
  Sans sans;
  X509Ptr cert = ParseCert(cert_pem);
  if (cert == nullptr) return sans;
  GENERAL_NAMES* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return sans;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    int type;
    const ASN1_STRING* value = static_cast<const ASN1_STRING*>(
        GENERAL_NAME_get0_value(name, &type));
    std::string bytes(
        reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
        static_cast<size_t>(ASN1_STRING_length(value)));
    if (type == GEN_DNS) sans.dns.push_back(bytes);
    if (type == GEN_URI) sans.uri.push_back(bytes);
    if (type == GEN_IPADD) {
      char text[INET6_ADDRSTRLEN] = {};
      inet_ntop(bytes.size() == 4 ? AF_INET : AF_INET6, bytes.data(), text,
                sizeof(text));
      sans.ip.push_back(text);
    }
  }
  GENERAL_NAMES_free(names);
  return sans;
}

std::string CommonName(const std::string& cert_pem) {
  X509Ptr cert = ParseCert(cert_pem);
  char buf[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName,
                            buf, sizeof(buf));
  return buf;
}

class TestCertsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TestCa> ca = TestCa::Create("Test CA");
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = std::make_unique<TestCa>(*std::move(ca));
  }

  std::unique_ptr<TestCa> ca_;
};

TEST_F(TestCertsTest, CaIsSelfSignedCa) {
  EXPECT_THAT(ca_->cert_pem(), HasSubstr("-----BEGIN CERTIFICATE-----"));
  EXPECT_THAT(ca_->key_pem(), HasSubstr("-----BEGIN PRIVATE KEY-----"));
  EXPECT_EQ(Verify(ca_->cert_pem(), ca_->cert_pem()), X509_V_OK);
  X509Ptr cert = ParseCert(ca_->cert_pem());
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_check_ca(cert.get()), 1);
  EXPECT_TRUE(X509_get_key_usage(cert.get()) & KU_KEY_CERT_SIGN);
  EXPECT_EQ(X509_get_version(cert.get()), X509_VERSION_3);
  EXPECT_EQ(CommonName(ca_->cert_pem()), "Test CA");
  PkeyPtr key = ParseKey(ca_->key_pem());
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
  EXPECT_TRUE(EVP_PKEY_is_a(key.get(), "EC"));
}

TEST_F(TestCertsTest, ServerCertChainsToItsCaAndHasSans) {
  IssueOptions options;
  options.common_name = "localhost";
  options.dns_sans = {"localhost", "pdp.internal"};
  options.ip_sans = {"127.0.0.1", "::1"};
  options.server = true;
  absl::StatusOr<KeyAndCert> issued = ca_->Issue(options);
  ASSERT_TRUE(issued.ok()) << issued.status();

  int err = Verify(ca_->cert_pem(), issued->cert_pem, X509_PURPOSE_SSL_SERVER);
  EXPECT_EQ(err, X509_V_OK) << VerifyErrorName(err);
  // serverAuth only: not usable as a client certificate.
  EXPECT_EQ(Verify(ca_->cert_pem(), issued->cert_pem, X509_PURPOSE_SSL_CLIENT),
            X509_V_ERR_INVALID_PURPOSE);

  Sans sans = ParseSans(issued->cert_pem);
  EXPECT_THAT(sans.dns, ElementsAre("localhost", "pdp.internal"));
  EXPECT_THAT(sans.ip, ElementsAre("127.0.0.1", "::1"));
  EXPECT_THAT(sans.uri, IsEmpty());
  EXPECT_EQ(CommonName(issued->cert_pem), "localhost");

  X509Ptr cert = ParseCert(issued->cert_pem);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_check_ca(cert.get()), 0);
  EXPECT_EQ(X509_check_host(cert.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
  PkeyPtr key = ParseKey(issued->key_pem);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
}

TEST_F(TestCertsTest, ClientCertHasSpiffeUri) {
  IssueOptions options;
  options.common_name = "gateway";
  options.uri_sans = {"spiffe://acme.example/gateway"};
  options.dns_sans = {"gateway.acme.example"};
  options.client = true;
  absl::StatusOr<KeyAndCert> issued = ca_->Issue(options);
  ASSERT_TRUE(issued.ok()) << issued.status();

  int err = Verify(ca_->cert_pem(), issued->cert_pem, X509_PURPOSE_SSL_CLIENT);
  EXPECT_EQ(err, X509_V_OK) << VerifyErrorName(err);
  EXPECT_EQ(Verify(ca_->cert_pem(), issued->cert_pem, X509_PURPOSE_SSL_SERVER),
            X509_V_ERR_INVALID_PURPOSE);
  Sans sans = ParseSans(issued->cert_pem);
  EXPECT_THAT(sans.uri, ElementsAre("spiffe://acme.example/gateway"));
  EXPECT_THAT(sans.dns, ElementsAre("gateway.acme.example"));
  EXPECT_THAT(sans.ip, IsEmpty());
}

TEST_F(TestCertsTest, ServerAndClientTogether) {
  IssueOptions options;
  options.common_name = "both";
  options.server = true;
  options.client = true;
  absl::StatusOr<KeyAndCert> issued = ca_->Issue(options);
  ASSERT_TRUE(issued.ok()) << issued.status();
  EXPECT_EQ(Verify(ca_->cert_pem(), issued->cert_pem, X509_PURPOSE_SSL_SERVER),
            X509_V_OK);
  EXPECT_EQ(Verify(ca_->cert_pem(), issued->cert_pem, X509_PURPOSE_SSL_CLIENT),
            X509_V_OK);
  // No SANs requested: no subjectAltName extension.
  X509Ptr cert = ParseCert(issued->cert_pem);
  EXPECT_EQ(X509_get_ext_by_NID(cert.get(), NID_subject_alt_name, -1), -1);
}

TEST_F(TestCertsTest, ForeignCaDoesNotVerify) {
  absl::StatusOr<TestCa> foreign = TestCa::Create("Test CA");  // Same name.
  ASSERT_TRUE(foreign.ok()) << foreign.status();
  IssueOptions options;
  options.common_name = "intruder";
  options.uri_sans = {"spiffe://acme.example/gateway"};
  options.client = true;
  absl::StatusOr<KeyAndCert> issued = foreign->Issue(options);
  ASSERT_TRUE(issued.ok()) << issued.status();

  EXPECT_EQ(Verify(foreign->cert_pem(), issued->cert_pem), X509_V_OK);
  int err = Verify(ca_->cert_pem(), issued->cert_pem);
  EXPECT_NE(err, X509_V_OK);
  EXPECT_TRUE(err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
              err == X509_V_ERR_CERT_SIGNATURE_FAILURE)
      << VerifyErrorName(err);
  EXPECT_NE(Verify(ca_->cert_pem(), foreign->cert_pem()), X509_V_OK);
}

TEST_F(TestCertsTest, ExpiredCertFailsWithCertHasExpired) {
  IssueOptions options;
  options.common_name = "old";
  options.uri_sans = {"spiffe://acme.example/gateway"};
  options.client = true;
  options.not_before = -absl::Hours(48);
  options.not_after = -absl::Hours(24);
  absl::StatusOr<KeyAndCert> issued = ca_->Issue(options);
  ASSERT_TRUE(issued.ok()) << issued.status();
  int err = Verify(ca_->cert_pem(), issued->cert_pem);
  EXPECT_EQ(err, X509_V_ERR_CERT_HAS_EXPIRED) << VerifyErrorName(err);
}

TEST_F(TestCertsTest, NotYetValidCertFails) {
  IssueOptions options;
  options.common_name = "future";
  options.not_before = absl::Hours(24);
  options.not_after = absl::Hours(48);
  absl::StatusOr<KeyAndCert> issued = ca_->Issue(options);
  ASSERT_TRUE(issued.ok()) << issued.status();
  int err = Verify(ca_->cert_pem(), issued->cert_pem);
  EXPECT_EQ(err, X509_V_ERR_CERT_NOT_YET_VALID) << VerifyErrorName(err);
}

TEST_F(TestCertsTest, EachIssueHasAFreshKeyAndSerial) {
  IssueOptions options;
  options.common_name = "same";
  absl::StatusOr<KeyAndCert> a = ca_->Issue(options);
  absl::StatusOr<KeyAndCert> b = ca_->Issue(options);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->key_pem, b->key_pem);
  X509Ptr ca = ParseCert(a->cert_pem);
  X509Ptr cb = ParseCert(b->cert_pem);
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(ca.get()),
                             X509_get0_serialNumber(cb.get())),
            0);
  // a's key does not match b's certificate.
  PkeyPtr ka = ParseKey(a->key_pem);
  EXPECT_NE(X509_check_private_key(cb.get(), ka.get()), 1);
}

TEST_F(TestCertsTest, RejectsBadOptions) {
  IssueOptions bad_ip;
  bad_ip.ip_sans = {"127.0.0.1", "localhost"};
  absl::StatusOr<KeyAndCert> issued = ca_->Issue(bad_ip);
  EXPECT_EQ(issued.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(issued.status().message(), HasSubstr("\"localhost\""));

  IssueOptions backwards;
  backwards.not_before = absl::Hours(1);
  backwards.not_after = -absl::Hours(1);
  EXPECT_EQ(ca_->Issue(backwards).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(TestCertsTest, CaSurvivesMove) {
  TestCa moved = std::move(*ca_);
  absl::StatusOr<KeyAndCert> issued = moved.Issue(IssueOptions{});
  ASSERT_TRUE(issued.ok()) << issued.status();
  EXPECT_EQ(Verify(moved.cert_pem(), issued->cert_pem), X509_V_OK);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(WriteFileTest, WritesAndReplaces) {
  const char* tmpdir = std::getenv("TEST_TMPDIR");
  ASSERT_NE(tmpdir, nullptr);
  const std::string path = absl::StrCat(tmpdir, "/write_file_test.pem");
  ASSERT_TRUE(WriteFile(path, "first contents\n").ok());
  EXPECT_EQ(ReadAll(path), "first contents\n");
  ASSERT_TRUE(WriteFile(path, "second").ok());
  EXPECT_EQ(ReadAll(path), "second");
  ASSERT_TRUE(WriteFile(path, "").ok());
  EXPECT_EQ(ReadAll(path), "");
}

TEST(WriteFileTest, NamesThePathOnFailure) {
  absl::Status s = WriteFile("/nonexistent-dir/x/ca.pem", "x");
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(s.message(), HasSubstr("/nonexistent-dir/x/ca.pem"));
}

}  // namespace
}  // namespace testcerts
}  // namespace pdp
