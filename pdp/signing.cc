#include "pdp/signing.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "pdp/status_macros.h"

namespace pdp {
namespace {

constexpr size_t kRawPublicKeySize = 32;
constexpr size_t kSignatureSize = 64;

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct BioDeleter {
  void operator()(BIO* p) const { BIO_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;
using Bio = std::unique_ptr<BIO, BioDeleter>;

// Internal with OpenSSL's first queued error (which never holds key
// material), clearing the queue.
absl::Status OpenSslError(absl::string_view what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return absl::InternalError(what);
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof(buffer));
  return absl::InternalError(absl::StrCat(what, ": ", buffer));
}

// Never prompts for a passphrase: an encrypted key simply fails to load.
int NoPassphrase(char*, int, int, void*) { return 0; }

Bio MemBio(absl::string_view data) {
  return Bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::string BioContents(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, size > 0 ? static_cast<size_t>(size) : 0);
}

// Parses an Ed25519 private key; InvalidArgument otherwise.
absl::StatusOr<Pkey> ParsePrivateKey(absl::string_view pem) {
  Bio bio = MemBio(pem);
  Pkey key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase,
                                         nullptr)
               : nullptr);
  ERR_clear_error();
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        "not a PEM private key (or it is encrypted)");
  }
  if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an Ed25519 private key (it is ",
                     OBJ_nid2sn(EVP_PKEY_get_id(key.get())), ")"));
  }
  return key;
}

// The raw 32-byte public key of an Ed25519 key (public or private).
absl::StatusOr<std::string> RawPublicKey(EVP_PKEY* key) {
  std::string raw(kRawPublicKeySize, '\0');
  size_t size = raw.size();
  if (EVP_PKEY_get_raw_public_key(
          key, reinterpret_cast<unsigned char*>(&raw[0]), &size) != 1 ||
      size != kRawPublicKeySize) {
    return OpenSslError("reading the Ed25519 public key failed");
  }
  return raw;
}

// Parses an Ed25519 public key to its raw 32 bytes; InvalidArgument
// otherwise.
absl::StatusOr<std::string> ParsePublicKey(absl::string_view pem) {
  Bio bio = MemBio(pem);
  Pkey key(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassphrase, nullptr)
               : nullptr);
  ERR_clear_error();
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        "not a PEM public key (\"BEGIN PUBLIC KEY\")");
  }
  if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an Ed25519 public key (it is ",
                     OBJ_nid2sn(EVP_PKEY_get_id(key.get())), ")"));
  }
  return RawPublicKey(key.get());
}

std::string KeyIdOfRaw(absl::string_view raw) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(raw.data()), raw.size(),
         digest);
  return absl::StrCat(
      "ed25519:",
      absl::BytesToHexString(absl::string_view(
          reinterpret_cast<const char*>(digest), 8)));
}

}  // namespace

absl::StatusOr<Ed25519Key> GenerateEd25519Key() {
  PkeyCtx ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  if (ctx == nullptr || EVP_PKEY_keygen_init(ctx.get()) != 1) {
    return OpenSslError("setting up Ed25519 key generation failed");
  }
  EVP_PKEY* raw_key = nullptr;
  if (EVP_PKEY_keygen(ctx.get(), &raw_key) != 1) {
    return OpenSslError("generating an Ed25519 key failed");
  }
  Pkey key(raw_key);
  Bio private_bio(BIO_new(BIO_s_mem()));
  Bio public_bio(BIO_new(BIO_s_mem()));
  if (private_bio == nullptr || public_bio == nullptr ||
      PEM_write_bio_PrivateKey(private_bio.get(), key.get(), nullptr, nullptr,
                               0, nullptr, nullptr) != 1 ||
      PEM_write_bio_PUBKEY(public_bio.get(), key.get()) != 1) {
    return OpenSslError("writing the Ed25519 key as PEM failed");
  }
  Ed25519Key result;
  result.private_pem = BioContents(private_bio.get());
  result.public_pem = BioContents(public_bio.get());
  return result;
}

absl::StatusOr<std::string> KeyIdOf(absl::string_view public_pem) {
  PDP_ASSIGN_OR_RETURN(const std::string raw, ParsePublicKey(public_pem));
  return KeyIdOfRaw(raw);
}

absl::StatusOr<std::string> KeyIdOfPrivate(absl::string_view private_pem) {
  PDP_ASSIGN_OR_RETURN(const Pkey key, ParsePrivateKey(private_pem));
  PDP_ASSIGN_OR_RETURN(const std::string raw, RawPublicKey(key.get()));
  return KeyIdOfRaw(raw);
}

absl::StatusOr<std::string> SignEd25519(absl::string_view private_pem,
                                        absl::string_view message) {
  PDP_ASSIGN_OR_RETURN(const Pkey key, ParsePrivateKey(private_pem));
  MdCtx ctx(EVP_MD_CTX_new());
  if (ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) !=
          1) {
    return OpenSslError("setting up Ed25519 signing failed");
  }
  std::string signature(kSignatureSize, '\0');
  size_t size = signature.size();
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(&signature[0]),
                     &size,
                     reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1) {
    return OpenSslError("Ed25519 signing failed");
  }
  signature.resize(size);
  return signature;
}

absl::StatusOr<v1::SignedBundle> SignBundle(const v1::Bundle& bundle,
                                            absl::string_view private_pem) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    if (!bundle.SerializeToCodedStream(&coded)) {
      return absl::InternalError("serializing the bundle failed");
    }
  }
  PDP_ASSIGN_OR_RETURN(std::string key_id, KeyIdOfPrivate(private_pem));
  PDP_ASSIGN_OR_RETURN(std::string signature, SignEd25519(private_pem, bytes));
  v1::SignedBundle signed_bundle;
  signed_bundle.set_bundle(std::move(bytes));
  signed_bundle.set_signature(std::move(signature));
  signed_bundle.set_key_id(std::move(key_id));
  return signed_bundle;
}

absl::StatusOr<TrustedKeys> TrustedKeys::Create(
    const std::vector<std::pair<std::string, std::string>>&
        id_and_public_pem) {
  TrustedKeys keys;
  for (const auto& [id, pem] : id_and_public_pem) {
    if (id.empty()) {
      return absl::InvalidArgumentError("a trusted key has an empty key id");
    }
    absl::StatusOr<std::string> raw = ParsePublicKey(pem);
    if (!raw.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "trusted key \"", id, "\": ", raw.status().message()));
    }
    if (!keys.raw_keys_.emplace(id, *std::move(raw)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("trusted key \"", id, "\" is listed twice"));
    }
  }
  return keys;
}

absl::Status TrustedKeys::Verify(absl::string_view key_id,
                                 absl::string_view message,
                                 absl::string_view signature) const {
  if (key_id.empty()) {
    return absl::PermissionDeniedError(
        "bundle has no key id; it is not signed");
  }
  auto it = raw_keys_.find(key_id);
  if (it == raw_keys_.end()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "bundle is signed by key \"", key_id, "\", which is not trusted"));
  }
  if (signature.empty()) {
    return absl::PermissionDeniedError(
        absl::StrCat("bundle signature does not verify with key \"", key_id,
                     "\": the signature is empty"));
  }
  const std::string& raw = it->second;
  Pkey key(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw.data()),
      raw.size()));
  MdCtx ctx(EVP_MD_CTX_new());
  if (key == nullptr || ctx == nullptr ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) !=
          1) {
    return OpenSslError("setting up Ed25519 verification failed");
  }
  const int verified = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
      signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
      message.size());
  ERR_clear_error();
  if (verified != 1) {
    return absl::PermissionDeniedError(absl::StrCat(
        "bundle signature does not verify with key \"", key_id,
        "\": the bundle was changed after signing, or signed by another key"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Bundle> TrustedKeys::Open(
    const v1::SignedBundle& signed_bundle) const {
  if (absl::Status status = Verify(signed_bundle.key_id(),
                                   signed_bundle.bundle(),
                                   signed_bundle.signature());
      !status.ok()) {
    return status;
  }
  v1::Bundle bundle;
  if (!bundle.ParseFromString(signed_bundle.bundle())) {
    return absl::InvalidArgumentError(
        "the signed bytes are not a serialized pdp.v1.Bundle");
  }
  return bundle;
}

}  // namespace pdp
