#ifndef PDP_TOKEN_OPENSSL_PTR_H_
#define PDP_TOKEN_OPENSSL_PTR_H_

// Owning smart pointers for the OpenSSL objects this package uses.
// Internal to pdp/token.

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include <memory>

namespace pdp {
namespace token {
namespace internal {

struct OpenSslDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(X509* p) const { X509_free(p); }
};

template <typename T>
using OpenSslPtr = std::unique_ptr<T, OpenSslDeleter>;

// A shared EVP_PKEY (freed with EVP_PKEY_free), taking ownership of `key`.
inline std::shared_ptr<EVP_PKEY> ShareKey(EVP_PKEY* key) {
  return std::shared_ptr<EVP_PKEY>(key, OpenSslDeleter());
}

}  // namespace internal
}  // namespace token
}  // namespace pdp

#endif  // PDP_TOKEN_OPENSSL_PTR_H_
