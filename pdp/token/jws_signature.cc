#include "pdp/token/jws_signature.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include <string>

#include "pdp/token/openssl_ptr.h"

namespace pdp {
namespace token {
namespace internal {
namespace {

constexpr size_t kEs256CoordinateSize = 32;
constexpr int kPs256SaltLength = 32;

struct EcdsaSigDeleter {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};

// The DER ECDSA-Sig-Value of a raw r || s signature, as OpenSSL verifies it;
// empty if it cannot be built.
std::string RawEcdsaToDer(absl::string_view raw) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  std::unique_ptr<ECDSA_SIG, EcdsaSigDeleter> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(bytes, kEs256CoordinateSize, nullptr);
  BIGNUM* s =
      BN_bin2bn(bytes + kEs256CoordinateSize, kEs256CoordinateSize, nullptr);
  if (sig == nullptr || r == nullptr || s == nullptr ||
      ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return "";
  }
  const int size = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (size <= 0) return "";
  std::string der(static_cast<size_t>(size), '\0');
  auto* out = reinterpret_cast<unsigned char*>(&der[0]);
  if (i2d_ECDSA_SIG(sig.get(), &out) != size) return "";
  return der;
}

// SHA-256, fetched once: implicit fetches on every call take OpenSSL 3's
// global locks, which threads verifying at once would contend for.
const EVP_MD* Sha256() {
  static const EVP_MD* const md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched != nullptr ? fetched : EVP_sha256();
  }();
  return md;
}

int ExpectedKeyType(JwsAlgorithm algorithm) {
  switch (algorithm) {
    case JwsAlgorithm::kRs256:
    case JwsAlgorithm::kPs256:
      return EVP_PKEY_RSA;
    case JwsAlgorithm::kEs256:
      return EVP_PKEY_EC;
    case JwsAlgorithm::kEdDsa:
      return EVP_PKEY_ED25519;
  }
  return EVP_PKEY_NONE;
}

bool Verify(JwsAlgorithm algorithm, EVP_PKEY* key,
            absl::string_view signing_input, absl::string_view signature) {
  if (EVP_PKEY_get_id(key) != ExpectedKeyType(algorithm)) return false;
  std::string der;
  if (algorithm == JwsAlgorithm::kEs256) {
    if (signature.size() != 2 * kEs256CoordinateSize) return false;
    der = RawEcdsaToDer(signature);
    if (der.empty()) return false;
    signature = der;
  }
  OpenSslPtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) return false;
  EVP_PKEY_CTX* pkey_ctx = nullptr;  // Owned by ctx.
  const EVP_MD* md = algorithm == JwsAlgorithm::kEdDsa ? nullptr : Sha256();
  if (EVP_DigestVerifyInit(ctx.get(), &pkey_ctx, md, nullptr, key) != 1) {
    return false;
  }
  if (algorithm == JwsAlgorithm::kRs256 &&
      EVP_PKEY_CTX_set_rsa_padding(pkey_ctx, RSA_PKCS1_PADDING) != 1) {
    return false;
  }
  if (algorithm == JwsAlgorithm::kPs256 &&
      (EVP_PKEY_CTX_set_rsa_padding(pkey_ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
       EVP_PKEY_CTX_set_rsa_mgf1_md(pkey_ctx, Sha256()) != 1 ||
       EVP_PKEY_CTX_set_rsa_pss_saltlen(pkey_ctx, kPs256SaltLength) != 1)) {
    return false;
  }
  return EVP_DigestVerify(
             ctx.get(),
             reinterpret_cast<const unsigned char*>(signature.data()),
             signature.size(),
             reinterpret_cast<const unsigned char*>(signing_input.data()),
             signing_input.size()) == 1;
}

}  // namespace

bool VerifyJwsSignature(JwsAlgorithm algorithm, EVP_PKEY* key,
                        absl::string_view signing_input,
                        absl::string_view signature) {
  const bool ok = Verify(algorithm, key, signing_input, signature);
  ERR_clear_error();
  return ok;
}

}  // namespace internal
}  // namespace token
}  // namespace pdp
