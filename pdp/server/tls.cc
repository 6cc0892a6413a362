#include "pdp/server/tls.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "absl/strings/str_cat.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_certificate_verifier.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace pdp::server {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

absl::Status Invalid(absl::string_view key, absl::string_view path,
                     absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("\"", key, "\": \"", path, "\" ", what));
}

BioPtr OpenFile(const std::string& path) {
  return BioPtr(BIO_new_file(path.c_str(), "r"));
}

// Checks that the three files parse and that the key is the certificate's.
absl::Status CheckFiles(const ServerConfig::Tls& tls) {
  BioPtr cert_file = OpenFile(tls.cert);
  if (cert_file == nullptr) return Invalid("tls.cert", tls.cert, "cannot be read");
  std::unique_ptr<X509, X509Free> cert(
      PEM_read_bio_X509(cert_file.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    return Invalid("tls.cert", tls.cert, "holds no PEM certificate");
  }
  BioPtr key_file = OpenFile(tls.key);
  if (key_file == nullptr) return Invalid("tls.key", tls.key, "cannot be read");
  std::unique_ptr<EVP_PKEY, KeyFree> key(
      PEM_read_bio_PrivateKey(key_file.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return Invalid("tls.key", tls.key,
                   "holds no unencrypted PEM private key");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return Invalid("tls.key", tls.key,
                   absl::StrCat("is not the key of the certificate in \"",
                                tls.cert, "\""));
  }
  BioPtr ca_file = OpenFile(tls.client_ca);
  if (ca_file == nullptr) {
    return Invalid("tls.client_ca", tls.client_ca, "cannot be read");
  }
  std::unique_ptr<X509, X509Free> ca(
      PEM_read_bio_X509(ca_file.get(), nullptr, nullptr, nullptr));
  if (ca == nullptr) {
    return Invalid("tls.client_ca", tls.client_ca, "holds no PEM certificate");
  }
  return absl::OkStatus();
}

// Why the leaf certificate `pem` may not identify a caller (SPIFFE
// X509-SVID §4.3, RFC 5280 4.2.1.3 and 4.2.1.12), or "" when it may: a CA
// certificate, keyUsage without digitalSignature, extendedKeyUsage without
// clientAuth (each only when the extension is present).
std::string LeafProblem(absl::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::unique_ptr<X509, X509Free> cert(
      bio == nullptr ? nullptr
                     : PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) return "the client certificate does not parse";
  const uint32_t flags = X509_get_extension_flags(cert.get());
  if ((flags & EXFLAG_CA) != 0) {
    return "the client certificate is a CA certificate (basicConstraints "
           "CA:TRUE); a caller presents a leaf";
  }
  if ((flags & EXFLAG_KUSAGE) != 0 &&
      (X509_get_key_usage(cert.get()) & KU_DIGITAL_SIGNATURE) == 0) {
    return "the client certificate's keyUsage lacks digitalSignature";
  }
  if ((flags & EXFLAG_XKUSAGE) != 0 &&
      (X509_get_extended_key_usage(cert.get()) & XKU_SSL_CLIENT) == 0) {
    return "the client certificate's extendedKeyUsage lacks clientAuth";
  }
  return "";
}

// Refuses, at the handshake, client certificates that LeafProblem() names.
// Runs after the chain verified against tls.client_ca. Thread-safe.
class CallerCertificateVerifier final
    : public grpc::experimental::ExternalCertificateVerifier {
 public:
  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)>,
              grpc::Status* sync_status) override {
    const grpc::string_ref pem = request->peer_cert();
    const std::string problem =
        LeafProblem(absl::string_view(pem.data(), pem.size()));
    *sync_status = problem.empty()
                       ? grpc::Status::OK
                       : grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                      problem);
    return true;
  }
  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest*) override {}
};

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerConfig& config) {
  if (config.insecure) return grpc::InsecureServerCredentials();
  if (absl::Status status = CheckFiles(config.tls); !status.ok()) return status;
  auto provider =
      std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
          config.tls.key, config.tls.cert, config.tls.client_ca,
          static_cast<unsigned int>(config.tls.reload_interval_seconds));
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.set_certificate_verifier(
      grpc::experimental::ExternalCertificateVerifier::Create<
          CallerCertificateVerifier>());
  return grpc::experimental::TlsServerCredentials(options);
}

}  // namespace pdp::server
