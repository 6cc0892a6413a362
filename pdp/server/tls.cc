#include "pdp/server/tls.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "absl/strings/str_cat.h"
#include "grpcpp/security/tls_certificate_provider.h"
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
  return grpc::experimental::TlsServerCredentials(options);
}

}  // namespace pdp::server
