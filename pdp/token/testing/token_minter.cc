#include "pdp/token/testing/token_minter.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "pdp/token/base64url.h"
#include "pdp/token/openssl_ptr.h"

namespace pdp {
namespace token {
namespace {

using internal::OpenSslPtr;
using Json = nlohmann::json;

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "token_minter: %s failed\n", what);
  ERR_print_errors_fp(stderr);
  std::abort();
}

std::string BignumBytes(const BIGNUM* bn, int size = 0) {
  std::string out(size > 0 ? size : BN_num_bytes(bn), '\0');
  if (BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(&out[0]),
                   static_cast<int>(out.size())) < 0) {
    Fail("BN_bn2binpad");
  }
  return out;
}

std::string BignumParam(EVP_PKEY* key, const char* name, int size = 0) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) Fail(name);
  OpenSslPtr<BIGNUM> owned(bn);
  return BignumBytes(bn, size);
}

std::string Encode(const Json& json) { return Base64UrlEncode(json.dump()); }

}  // namespace

TestSigningKey TestSigningKey::Generate(JwsAlgorithm alg, std::string kid) {
  EVP_PKEY* key = nullptr;
  switch (alg) {
    case JwsAlgorithm::kRs256:
    case JwsAlgorithm::kPs256:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048});
      break;
    case JwsAlgorithm::kEs256:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case JwsAlgorithm::kEdDsa:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
  }
  if (key == nullptr) Fail("EVP_PKEY_Q_keygen");
  return TestSigningKey(alg, std::move(kid), internal::ShareKey(key));
}

std::string TestSigningKey::JwkJson() const {
  Json jwk = {{"kid", kid_},
              {"alg", std::string(JwsAlgorithmName(alg_))},
              {"use", "sig"}};
  switch (alg_) {
    case JwsAlgorithm::kRs256:
    case JwsAlgorithm::kPs256:
      jwk["kty"] = "RSA";
      jwk["n"] = Base64UrlEncode(BignumParam(pkey(), OSSL_PKEY_PARAM_RSA_N));
      jwk["e"] = Base64UrlEncode(BignumParam(pkey(), OSSL_PKEY_PARAM_RSA_E));
      break;
    case JwsAlgorithm::kEs256:
      jwk["kty"] = "EC";
      jwk["crv"] = "P-256";
      jwk["x"] =
          Base64UrlEncode(BignumParam(pkey(), OSSL_PKEY_PARAM_EC_PUB_X, 32));
      jwk["y"] =
          Base64UrlEncode(BignumParam(pkey(), OSSL_PKEY_PARAM_EC_PUB_Y, 32));
      break;
    case JwsAlgorithm::kEdDsa: {
      std::string raw(32, '\0');
      size_t size = raw.size();
      if (EVP_PKEY_get_raw_public_key(
              pkey(), reinterpret_cast<unsigned char*>(&raw[0]), &size) != 1) {
        Fail("EVP_PKEY_get_raw_public_key");
      }
      raw.resize(size);
      jwk["kty"] = "OKP";
      jwk["crv"] = "Ed25519";
      jwk["x"] = Base64UrlEncode(raw);
      break;
    }
  }
  return jwk.dump();
}

std::string TestSigningKey::PublicKeyPem() const {
  OpenSslPtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_PUBKEY(bio.get(), pkey()) != 1) {
    Fail("PEM_write_bio_PUBKEY");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

std::string TestSigningKey::SignDer(absl::string_view signing_input) const {
  OpenSslPtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pkey_ctx = nullptr;
  const EVP_MD* md = alg_ == JwsAlgorithm::kEdDsa ? nullptr : EVP_sha256();
  if (ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), &pkey_ctx, md, nullptr, pkey()) != 1) {
    Fail("EVP_DigestSignInit");
  }
  if (alg_ == JwsAlgorithm::kPs256 &&
      (EVP_PKEY_CTX_set_rsa_padding(pkey_ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
       EVP_PKEY_CTX_set_rsa_pss_saltlen(pkey_ctx, 32) != 1)) {
    Fail("setting PSS parameters");
  }
  const auto* input =
      reinterpret_cast<const unsigned char*>(signing_input.data());
  size_t size = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &size, input, signing_input.size()) !=
      1) {
    Fail("EVP_DigestSign (size)");
  }
  std::string signature(size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(&signature[0]),
                     &size, input, signing_input.size()) != 1) {
    Fail("EVP_DigestSign");
  }
  signature.resize(size);
  return signature;
}

std::string TestSigningKey::Sign(absl::string_view signing_input) const {
  std::string signature = SignDer(signing_input);
  if (alg_ != JwsAlgorithm::kEs256) return signature;
  const auto* p = reinterpret_cast<const unsigned char*>(signature.data());
  ECDSA_SIG* sig =
      d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(signature.size()));
  if (sig == nullptr) Fail("d2i_ECDSA_SIG");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig, &r, &s);
  std::string raw = BignumBytes(r, 32) + BignumBytes(s, 32);
  ECDSA_SIG_free(sig);
  return raw;
}

std::string JwkSetJson(const std::vector<const TestSigningKey*>& keys) {
  Json set = {{"keys", Json::array()}};
  for (const TestSigningKey* key : keys) {
    set["keys"].push_back(Json::parse(key->JwkJson()));
  }
  return set.dump();
}

std::string MintToken(const TestSigningKey& key, const Json& claims,
                      const Json& extra_header) {
  Json header = {{"alg", std::string(JwsAlgorithmName(key.alg()))},
                 {"kid", key.kid()},
                 {"typ", "JWT"}};
  if (extra_header.is_object()) header.merge_patch(extra_header);
  return SignParts(key, header.dump(), claims.dump());
}

std::string SignParts(const TestSigningKey& key, absl::string_view header,
                      absl::string_view payload) {
  std::string signing_input =
      absl::StrCat(Base64UrlEncode(header), ".", Base64UrlEncode(payload));
  return absl::StrCat(signing_input, ".",
                      Base64UrlEncode(key.Sign(signing_input)));
}

std::string MintUnsigned(Json header, Json claims,
                         absl::string_view signature) {
  return absl::StrCat(Encode(header), ".", Encode(claims), ".",
                      Base64UrlEncode(signature));
}

std::string MintHs256(absl::string_view secret, Json header, Json claims) {
  std::string signing_input = absl::StrCat(Encode(header), ".", Encode(claims));
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t size = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(),
                secret.size(),
                reinterpret_cast<const unsigned char*>(signing_input.data()),
                signing_input.size(), mac, sizeof(mac), &size) == nullptr) {
    Fail("EVP_Q_mac");
  }
  return absl::StrCat(
      signing_input, ".",
      Base64UrlEncode(absl::string_view(reinterpret_cast<char*>(mac), size)));
}

std::string SelfSignedCertificatePem(absl::string_view common_name) {
  OpenSslPtr<EVP_PKEY> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  OpenSslPtr<X509> cert(X509_new());
  if (key == nullptr || cert == nullptr) Fail("X509_new");
  const std::string cn(common_name);
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_set_version(cert.get(), 2) != 1 ||
      ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400) == nullptr ||
      X509_NAME_add_entry_by_txt(
          name, "CN", MBSTRING_ASC,
          reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1 ||
      X509_set_pubkey(cert.get(), key.get()) != 1 ||
      X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) {
    Fail("building the certificate");
  }
  OpenSslPtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), cert.get()) != 1) {
    Fail("PEM_write_bio_X509");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

}  // namespace token
}  // namespace pdp
