#ifndef TESTS_TESTING_TEST_CERTS_H_
#define TESTS_TESTING_TEST_CERTS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace pdp {
namespace testcerts {

// A private key and its certificate, both PEM. The key is PKCS#8
// ("BEGIN PRIVATE KEY"), unencrypted: for tests only.
struct KeyAndCert {
  std::string key_pem;
  std::string cert_pem;
};

// What an issued (leaf) certificate says. Every certificate gets an EC P-256
// key, a random 128-bit serial, SHA-256 signature, subject/authority key
// identifiers, basicConstraints CA:FALSE (unless `ca`) and keyUsage
// digitalSignature (unless `key_usage` says otherwise).
struct IssueOptions {
  // Tests of certificates that must be refused as callers:
  // basicConstraints critical CA:TRUE instead of CA:FALSE.
  bool ca = false;
  // The keyUsage extension in OpenSSL's config syntax
  // ("critical,keyEncipherment"); empty: no keyUsage extension at all.
  std::string key_usage = "critical,digitalSignature";
  // The subject's CN. May be empty (then the subject is empty).
  std::string common_name;
  // subjectAltName entries, in this order: DNS names, URIs
  // ("spiffe://acme.example/gateway"), IP addresses ("127.0.0.1", "::1").
  std::vector<std::string> dns_sans;
  std::vector<std::string> uri_sans;
  std::vector<std::string> ip_sans;
  // extendedKeyUsage serverAuth and/or clientAuth. Neither: no
  // extendedKeyUsage extension at all.
  bool server = false;
  bool client = false;
  // Validity, as offsets from now. An expired certificate: both negative.
  // A not-yet-valid one: both positive.
  absl::Duration not_before = -absl::Hours(1);
  absl::Duration not_after = absl::Hours(24);
};

// A certificate authority made at test time with OpenSSL: a self-signed CA
// certificate (basicConstraints critical CA:TRUE, keyUsage critical
// keyCertSign and cRLSign) and its EC P-256 key, valid from an hour ago for
// ten years. Nothing here depends on the `openssl` command.
// Thread-safe: Issue() is const and may run on several threads at once.
// Movable, not copyable.
class TestCa {
 public:
  // Returns Internal if OpenSSL fails (with OpenSSL's error queue in the
  // message).
  static absl::StatusOr<TestCa> Create(absl::string_view common_name);

  TestCa(TestCa&&) noexcept;
  TestCa& operator=(TestCa&&) noexcept;
  ~TestCa();

  // Issues a certificate signed by this CA with a fresh key.
  // Returns InvalidArgument for an IP SAN that is not an IPv4 or IPv6
  // address, or when not_after is not later than not_before; Internal if
  // OpenSSL fails.
  absl::StatusOr<KeyAndCert> Issue(const IssueOptions& options) const;

  // The CA certificate (what a peer trusts) and its key, PEM.
  const std::string& cert_pem() const { return cert_pem_; }
  const std::string& key_pem() const { return key_pem_; }

 private:
  struct Impl;
  explicit TestCa(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
  std::string cert_pem_;
  std::string key_pem_;
};

// Writes `content` to `path`, replacing the file atomically (a temporary file
// in the same directory, then rename), so that a reader watching the path
// never sees a partial file. Returns Internal naming the path on failure.
absl::Status WriteFile(const std::string& path, absl::string_view content);

}  // namespace testcerts
}  // namespace pdp

#endif  // TESTS_TESTING_TEST_CERTS_H_
