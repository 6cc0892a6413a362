#include "tests/testing/test_certs.h"

#include <arpa/inet.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace pdp {
namespace testcerts {
namespace {

struct BioFree {
  void operator()(BIO* p) const { BIO_free_all(p); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
struct Asn1IntegerFree {
  void operator()(ASN1_INTEGER* p) const { ASN1_INTEGER_free(p); }
};
struct ExtensionFree {
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
struct GeneralNamesFree {
  void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
};
struct GeneralNameFree {
  void operator()(GENERAL_NAME* p) const { GENERAL_NAME_free(p); }
};
struct Asn1StringFree {
  void operator()(ASN1_STRING* p) const { ASN1_STRING_free(p); }
};

using BioPtr = std::unique_ptr<BIO, BioFree>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, Asn1IntegerFree>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, ExtensionFree>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, GeneralNamesFree>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, GeneralNameFree>;
using Asn1StringPtr = std::unique_ptr<ASN1_STRING, Asn1StringFree>;

// An Internal status with `what` and OpenSSL's queued errors, which it
// clears.
absl::Status OpenSslError(absl::string_view what) {
  std::string detail;
  unsigned long code;
  while ((code = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    absl::StrAppend(&detail, detail.empty() ? "" : "; ", buf);
  }
  if (detail.empty()) return absl::InternalError(what);
  return absl::InternalError(absl::StrCat(what, ": ", detail));
}

absl::StatusOr<PkeyPtr> NewKey() {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (key == nullptr) return OpenSslError("EC P-256 key generation failed");
  return key;
}

absl::StatusOr<std::string> BioContents(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  if (len < 0) return OpenSslError("reading a memory BIO failed");
  return std::string(data, static_cast<size_t>(len));
}

absl::StatusOr<std::string> KeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr,
                               nullptr) != 1) {
    return OpenSslError("writing a private key failed");
  }
  return BioContents(bio.get());
}

absl::StatusOr<std::string> CertPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return OpenSslError("writing a certificate failed");
  }
  return BioContents(bio.get());
}

// A random positive 127-bit serial (RFC 5280: at most 20 octets, positive).
absl::Status SetRandomSerial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return OpenSslError("RAND_bytes failed");
  }
  bytes[0] &= 0x7f;
  bytes[0] |= 0x40;  // Never zero, always 16 octets.
  BnPtr bn(BN_bin2bn(bytes, sizeof(bytes), nullptr));
  if (bn == nullptr) return OpenSslError("BN_bin2bn failed");
  Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (serial == nullptr || X509_set_serialNumber(cert, serial.get()) != 1) {
    return OpenSslError("setting the serial number failed");
  }
  return absl::OkStatus();
}

int64_t Seconds(absl::Duration d) { return absl::ToInt64Seconds(d); }

// Version 3, serial, validity, subject (CN), issuer, public key.
absl::StatusOr<X509Ptr> NewCert(absl::string_view common_name,
                                absl::Duration not_before,
                                absl::Duration not_after, EVP_PKEY* key,
                                const X509_NAME* issuer) {
  X509Ptr cert(X509_new());
  if (cert == nullptr) return OpenSslError("X509_new failed");
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return OpenSslError("X509_set_version failed");
  }
  absl::Status serial = SetRandomSerial(cert.get());
  if (!serial.ok()) return serial;
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()),
                      static_cast<long>(Seconds(not_before))) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()),
                      static_cast<long>(Seconds(not_after))) == nullptr) {
    return OpenSslError("setting the validity failed");
  }
  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (!common_name.empty() &&
      X509_NAME_add_entry_by_NID(
          subject, NID_commonName, MBSTRING_UTF8,
          reinterpret_cast<const unsigned char*>(common_name.data()),
          static_cast<int>(common_name.size()), -1, 0) != 1) {
    return OpenSslError("setting the common name failed");
  }
  if (X509_set_issuer_name(cert.get(),
                           issuer != nullptr ? issuer : subject) != 1) {
    return OpenSslError("setting the issuer failed");
  }
  if (X509_set_pubkey(cert.get(), key) != 1) {
    return OpenSslError("X509_set_pubkey failed");
  }
  return cert;
}

// Adds an extension written in OpenSSL's config syntax ("critical,CA:TRUE").
// `issuer` is the signing certificate (the certificate itself when
// self-signed), needed for authorityKeyIdentifier.
absl::Status AddExtension(X509* cert, X509* issuer, int nid,
                          const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (ext == nullptr || X509_add_ext(cert, ext.get(), -1) != 1) {
    return OpenSslError(
        absl::StrCat("adding extension ", OBJ_nid2sn(nid), "=", value,
                     " failed"));
  }
  return absl::OkStatus();
}

absl::Status AddSans(X509* cert, const IssueOptions& options) {
  GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
  if (names == nullptr) return OpenSslError("sk_GENERAL_NAME_new_null failed");
  // Appends (type, bytes) as an IA5String or octet string general name.
  auto add = [&names](int type, const unsigned char* data,
                      size_t len) -> absl::Status {
    GeneralNamePtr name(GENERAL_NAME_new());
    Asn1StringPtr value(type == GEN_IPADD ? ASN1_OCTET_STRING_new()
                                          : ASN1_IA5STRING_new());
    if (name == nullptr || value == nullptr ||
        ASN1_STRING_set(value.get(), data, static_cast<int>(len)) != 1) {
      return OpenSslError("building a subjectAltName failed");
    }
    GENERAL_NAME_set0_value(name.get(), type, value.release());
    if (sk_GENERAL_NAME_push(names.get(), name.get()) == 0) {
      return OpenSslError("sk_GENERAL_NAME_push failed");
    }
    name.release();  // Owned by `names` now.
    return absl::OkStatus();
  };
  for (const std::string& dns : options.dns_sans) {
    absl::Status s =
        add(GEN_DNS, reinterpret_cast<const unsigned char*>(dns.data()),
            dns.size());
    if (!s.ok()) return s;
  }
  for (const std::string& uri : options.uri_sans) {
    absl::Status s =
        add(GEN_URI, reinterpret_cast<const unsigned char*>(uri.data()),
            uri.size());
    if (!s.ok()) return s;
  }
  for (const std::string& ip : options.ip_sans) {
    unsigned char addr[16];
    size_t len;
    if (inet_pton(AF_INET, ip.c_str(), addr) == 1) {
      len = 4;
    } else if (inet_pton(AF_INET6, ip.c_str(), addr) == 1) {
      len = 16;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("ip_sans: \"", ip, "\" is not an IP address"));
    }
    absl::Status s = add(GEN_IPADD, addr, len);
    if (!s.ok()) return s;
  }
  if (sk_GENERAL_NAME_num(names.get()) == 0) return absl::OkStatus();
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0,
                        X509V3_ADD_DEFAULT) != 1) {
    return OpenSslError("adding subjectAltName failed");
  }
  return absl::OkStatus();
}

}  // namespace

struct TestCa::Impl {
  PkeyPtr key;
  X509Ptr cert;
};

TestCa::TestCa(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TestCa::TestCa(TestCa&&) noexcept = default;
TestCa& TestCa::operator=(TestCa&&) noexcept = default;
TestCa::~TestCa() = default;

absl::StatusOr<TestCa> TestCa::Create(absl::string_view common_name) {
  absl::StatusOr<PkeyPtr> key = NewKey();
  if (!key.ok()) return key.status();
  absl::StatusOr<X509Ptr> cert =
      NewCert(common_name, -absl::Hours(1), absl::Hours(24 * 3650),
              key->get(), nullptr);
  if (!cert.ok()) return cert.status();
  X509* c = cert->get();
  // subjectKeyIdentifier first: authorityKeyIdentifier copies it.
  for (const auto& [nid, value] :
       std::vector<std::pair<int, const char*>>{
           {NID_basic_constraints, "critical,CA:TRUE"},
           {NID_key_usage, "critical,keyCertSign,cRLSign"},
           {NID_subject_key_identifier, "hash"},
           {NID_authority_key_identifier, "keyid:always"},
       }) {
    absl::Status s = AddExtension(c, c, nid, value);
    if (!s.ok()) return s;
  }
  if (X509_sign(c, key->get(), EVP_sha256()) <= 0) {
    return OpenSslError("signing the CA certificate failed");
  }
  auto impl = std::make_unique<Impl>();
  impl->key = *std::move(key);
  impl->cert = *std::move(cert);
  absl::StatusOr<std::string> cert_pem = CertPem(impl->cert.get());
  if (!cert_pem.ok()) return cert_pem.status();
  absl::StatusOr<std::string> key_pem = KeyPem(impl->key.get());
  if (!key_pem.ok()) return key_pem.status();
  TestCa ca(std::move(impl));
  ca.cert_pem_ = *std::move(cert_pem);
  ca.key_pem_ = *std::move(key_pem);
  return ca;
}

absl::StatusOr<KeyAndCert> TestCa::Issue(const IssueOptions& options) const {
  if (options.not_after <= options.not_before) {
    return absl::InvalidArgumentError(
        "not_after must be later than not_before");
  }
  absl::StatusOr<PkeyPtr> key = NewKey();
  if (!key.ok()) return key.status();
  absl::StatusOr<X509Ptr> cert =
      NewCert(options.common_name, options.not_before, options.not_after,
              key->get(), X509_get_subject_name(impl_->cert.get()));
  if (!cert.ok()) return cert.status();
  X509* c = cert->get();
  X509* issuer = impl_->cert.get();
  std::vector<std::pair<int, const char*>> extensions = {
      {NID_basic_constraints,
       options.ca ? "critical,CA:TRUE" : "critical,CA:FALSE"},
      {NID_subject_key_identifier, "hash"},
      {NID_authority_key_identifier, "keyid:always"},
  };
  if (!options.key_usage.empty()) {
    extensions.push_back({NID_key_usage, options.key_usage.c_str()});
  }
  if (options.server && options.client) {
    extensions.push_back({NID_ext_key_usage, "serverAuth,clientAuth"});
  } else if (options.server) {
    extensions.push_back({NID_ext_key_usage, "serverAuth"});
  } else if (options.client) {
    extensions.push_back({NID_ext_key_usage, "clientAuth"});
  }
  for (const auto& [nid, value] : extensions) {
    absl::Status s = AddExtension(c, issuer, nid, value);
    if (!s.ok()) return s;
  }
  absl::Status sans = AddSans(c, options);
  if (!sans.ok()) return sans;
  if (X509_sign(c, impl_->key.get(), EVP_sha256()) <= 0) {
    return OpenSslError("signing the certificate failed");
  }
  KeyAndCert out;
  absl::StatusOr<std::string> key_pem = KeyPem(key->get());
  if (!key_pem.ok()) return key_pem.status();
  absl::StatusOr<std::string> cert_pem = CertPem(c);
  if (!cert_pem.ok()) return cert_pem.status();
  out.key_pem = *std::move(key_pem);
  out.cert_pem = *std::move(cert_pem);
  return out;
}

absl::Status WriteFile(const std::string& path, absl::string_view content) {
  static std::atomic<uint64_t> counter{0};
  const std::string tmp =
      absl::StrCat(path, ".tmp.", getpid(), ".", counter.fetch_add(1));
  auto error = [&](absl::string_view what) {
    int err = errno;
    std::remove(tmp.c_str());
    return absl::InternalError(
        absl::StrCat(what, " ", path, ": ", std::strerror(err)));
  };
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return error("cannot create");
  size_t n = content.empty()
                 ? 0
                 : std::fwrite(content.data(), 1, content.size(), f);
  bool ok = n == content.size();
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) return error("cannot write");
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return error("cannot replace");
  return absl::OkStatus();
}

}  // namespace testcerts
}  // namespace pdp
