#include "pdp/token/thumbprint.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "pdp/token/base64url.h"
#include "pdp/token/openssl_ptr.h"

namespace pdp {
namespace token {
namespace {

using internal::OpenSslPtr;

// The DER bytes of the first certificate of a PEM text; empty if none.
std::string PemToDer(absl::string_view pem) {
  OpenSslPtr<BIO> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return "";
  for (;;) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long size = 0;
    if (PEM_read_bio(bio.get(), &name, &header, &data, &size) != 1) return "";
    const bool is_certificate = std::strcmp(name, PEM_STRING_X509) == 0;
    std::string der;
    if (is_certificate && size > 0) {
      der.assign(reinterpret_cast<const char*>(data),
                 static_cast<size_t>(size));
    }
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    if (is_certificate) return der;
  }
}

// True if `der` is exactly one DER certificate.
bool IsCertificate(absl::string_view der) {
  const auto* start = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* p = start;
  OpenSslPtr<X509> cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  return cert != nullptr && p == start + der.size();
}

}  // namespace

absl::StatusOr<std::string> CertificateThumbprint(
    absl::string_view pem_or_der) {
  std::string der;
  if (absl::StrContains(pem_or_der, "-----BEGIN")) {
    der = PemToDer(pem_or_der);
  } else {
    der = std::string(pem_or_der);
  }
  const bool ok = !der.empty() && IsCertificate(der);
  ERR_clear_error();
  if (!ok) {
    return absl::InvalidArgumentError(
        "not an X.509 certificate (PEM \"BEGIN CERTIFICATE\" or DER)");
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(der.data(), der.size(), digest, &size, EVP_sha256(),
                 nullptr) != 1) {
    ERR_clear_error();
    return absl::InternalError("OpenSSL could not compute SHA-256");
  }
  return Base64UrlEncode(
      absl::string_view(reinterpret_cast<const char*>(digest), size));
}

}  // namespace token
}  // namespace pdp
