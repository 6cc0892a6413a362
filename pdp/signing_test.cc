#include "pdp/signing.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace pdp {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

// An EC P-256 key pair as PEM (private PKCS#8, public SPKI): a real key
// that is not Ed25519.
std::pair<std::string, std::string> EcP256Pem() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  EXPECT_NE(key, nullptr);
  BIO* priv = BIO_new(BIO_s_mem());
  BIO* pub = BIO_new(BIO_s_mem());
  EXPECT_EQ(PEM_write_bio_PrivateKey(priv, key, nullptr, nullptr, 0, nullptr,
                                     nullptr),
            1);
  EXPECT_EQ(PEM_write_bio_PUBKEY(pub, key), 1);
  char* data = nullptr;
  long size = BIO_get_mem_data(priv, &data);
  std::string priv_pem(data, size);
  size = BIO_get_mem_data(pub, &data);
  std::string pub_pem(data, size);
  BIO_free(priv);
  BIO_free(pub);
  EVP_PKEY_free(key);
  return {priv_pem, pub_pem};
}

Ed25519Key NewKey() {
  absl::StatusOr<Ed25519Key> key = GenerateEd25519Key();
  EXPECT_TRUE(key.ok()) << key.status();
  return *key;
}

TrustedKeys Trust(const std::vector<Ed25519Key>& keys) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const Ed25519Key& key : keys) {
    pairs.emplace_back(*KeyIdOf(key.public_pem), key.public_pem);
  }
  absl::StatusOr<TrustedKeys> trusted = TrustedKeys::Create(pairs);
  EXPECT_TRUE(trusted.ok()) << trusted.status();
  return *trusted;
}

v1::Bundle SampleBundle() {
  v1::Bundle bundle;
  bundle.mutable_metadata()->set_version(7);
  bundle.mutable_metadata()->set_source_commit("abc123");
  bundle.add_tools()->set_id("crm.read");
  v1::User* user = bundle.add_users();
  user->set_id("alice");
  (*user->mutable_attributes())["b"] = "2";
  (*user->mutable_attributes())["a"] = "1";
  (*user->mutable_attributes())["c"] = "3";
  return bundle;
}

TEST(SigningTest, GeneratedKeyIsPem) {
  Ed25519Key key = NewKey();
  EXPECT_TRUE(absl::StartsWith(key.private_pem, "-----BEGIN PRIVATE KEY-----"));
  EXPECT_TRUE(absl::StartsWith(key.public_pem, "-----BEGIN PUBLIC KEY-----"));
  EXPECT_NE(NewKey().public_pem, key.public_pem);
}

TEST(SigningTest, KeyIdIsStableAndDocumentedShape) {
  Ed25519Key key = NewKey();
  absl::StatusOr<std::string> id = KeyIdOf(key.public_pem);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_THAT(*id, MatchesRegex("ed25519:[0-9a-f]{16}"));
  EXPECT_EQ(*KeyIdOf(key.public_pem), *id);
  // Formatting of the PEM does not matter: no trailing newline.
  std::string trimmed = key.public_pem;
  while (!trimmed.empty() && trimmed.back() == '\n') trimmed.pop_back();
  EXPECT_EQ(*KeyIdOf(trimmed + "\n"), *id);
  EXPECT_EQ(*KeyIdOfPrivate(key.private_pem), *id);
  EXPECT_NE(*KeyIdOf(NewKey().public_pem), *id);
}

TEST(SigningTest, KeyIdOfKnownKey) {
  // RFC 8032 test 1 public key d75a9801...511a; SHA-256 of those 32 bytes
  // starts 21fe31dfa154a261.
  const std::string pem =
      "-----BEGIN PUBLIC KEY-----\n"
      "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
      "-----END PUBLIC KEY-----\n";
  absl::StatusOr<std::string> id = KeyIdOf(pem);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, "ed25519:21fe31dfa154a261");
}

TEST(SigningTest, SignVerifyRoundTrip) {
  Ed25519Key key = NewKey();
  TrustedKeys trusted = Trust({key});
  absl::StatusOr<std::string> signature = SignEd25519(key.private_pem, "hello");
  ASSERT_TRUE(signature.ok()) << signature.status();
  EXPECT_EQ(signature->size(), 64u);
  const std::string id = *KeyIdOf(key.public_pem);
  EXPECT_TRUE(trusted.Verify(id, "hello", *signature).ok());
  EXPECT_TRUE(trusted.Contains(id));
  EXPECT_EQ(trusted.size(), 1u);
}

TEST(SigningTest, TamperedMessageOrSignatureFails) {
  Ed25519Key key = NewKey();
  TrustedKeys trusted = Trust({key});
  const std::string id = *KeyIdOf(key.public_pem);
  const std::string message = "the exact bytes of a bundle";
  const std::string signature = *SignEd25519(key.private_pem, message);
  for (size_t i = 0; i < message.size(); ++i) {
    std::string tampered = message;
    tampered[i] ^= 0x01;
    absl::Status status = trusted.Verify(id, tampered, signature);
    EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << i;
    EXPECT_THAT(status.message(), HasSubstr("signature does not verify"));
  }
  std::string bad_signature = signature;
  bad_signature[10] ^= 0x80;
  EXPECT_EQ(trusted.Verify(id, message, bad_signature).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(trusted.Verify(id, message, signature.substr(0, 63)).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(trusted.Verify(id, message + "x", signature).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(SigningTest, AnotherKeysSignatureFails) {
  Ed25519Key trusted_key = NewKey();
  Ed25519Key other = NewKey();
  TrustedKeys trusted = Trust({trusted_key});
  // Signed by `other` but claiming the trusted key's id.
  const std::string signature = *SignEd25519(other.private_pem, "msg");
  absl::Status status =
      trusted.Verify(*KeyIdOf(trusted_key.public_pem), "msg", signature);
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(status.message(), HasSubstr("signature does not verify"));
}

TEST(SigningTest, UnknownKeyIdIsNotTrusted) {
  Ed25519Key key = NewKey();
  Ed25519Key other = NewKey();
  TrustedKeys trusted = Trust({key});
  const std::string other_id = *KeyIdOf(other.public_pem);
  absl::Status status = trusted.Verify(
      other_id, "msg", *SignEd25519(other.private_pem, "msg"));
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(status.message(), "bundle is signed by key \"" + other_id +
                                  "\", which is not trusted");
  EXPECT_EQ(trusted.Verify("", "msg", "sig").code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(SigningTest, EmptySignatureFails) {
  Ed25519Key key = NewKey();
  TrustedKeys trusted = Trust({key});
  absl::Status status = trusted.Verify(*KeyIdOf(key.public_pem), "msg", "");
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(status.message(), HasSubstr("signature does not verify"));
}

TEST(SigningTest, NonEd25519KeysAreRefused) {
  auto [ec_private, ec_public] = EcP256Pem();
  absl::StatusOr<std::string> signature = SignEd25519(ec_private, "msg");
  EXPECT_EQ(signature.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(signature.status().message(), HasSubstr("not an Ed25519"));
  EXPECT_EQ(KeyIdOf(ec_public).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SignBundle(SampleBundle(), ec_private).status().code(),
            absl::StatusCode::kInvalidArgument);

  absl::StatusOr<TrustedKeys> trusted =
      TrustedKeys::Create({{"ec-key", ec_public}});
  EXPECT_EQ(trusted.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(trusted.status().message(), HasSubstr("\"ec-key\""));
  EXPECT_THAT(trusted.status().message(), HasSubstr("not an Ed25519"));
  // No key material in the message.
  EXPECT_THAT(trusted.status().message(), Not(HasSubstr("BEGIN")));

  // Garbage, and a private key where a public one belongs.
  Ed25519Key key = NewKey();
  EXPECT_EQ(TrustedKeys::Create({{"x", "not a pem"}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TrustedKeys::Create({{"x", key.private_pem}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SignEd25519(key.public_pem, "msg").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SignEd25519("", "msg").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SigningTest, CreateRefusesDuplicateAndEmptyIds) {
  Ed25519Key a = NewKey();
  Ed25519Key b = NewKey();
  absl::StatusOr<TrustedKeys> dup =
      TrustedKeys::Create({{"ci", a.public_pem}, {"ci", b.public_pem}});
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(dup.status().message(), HasSubstr("\"ci\""));
  EXPECT_EQ(TrustedKeys::Create({{"", a.public_pem}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<TrustedKeys> empty = TrustedKeys::Create({});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->Verify("ci", "m", "s").code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(SigningTest, SignBundleSignsItsDeterministicBytes) {
  Ed25519Key key = NewKey();
  TrustedKeys trusted = Trust({key});
  const v1::Bundle bundle = SampleBundle();
  absl::StatusOr<v1::SignedBundle> signed_bundle =
      SignBundle(bundle, key.private_pem);
  ASSERT_TRUE(signed_bundle.ok()) << signed_bundle.status();
  EXPECT_EQ(signed_bundle->key_id(), *KeyIdOf(key.public_pem));
  EXPECT_TRUE(trusted
                  .Verify(signed_bundle->key_id(), signed_bundle->bundle(),
                          signed_bundle->signature())
                  .ok());
  // Deterministic: signing again yields the same bytes (and, Ed25519 being
  // deterministic, the same signature).
  absl::StatusOr<v1::SignedBundle> again = SignBundle(bundle, key.private_pem);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->bundle(), signed_bundle->bundle());
  EXPECT_EQ(again->signature(), signed_bundle->signature());

  absl::StatusOr<v1::Bundle> opened = trusted.Open(*signed_bundle);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*opened, bundle));
  EXPECT_EQ(opened->metadata().version(), 7u);

  v1::SignedBundle tampered = *signed_bundle;
  tampered.mutable_bundle()->back() ^= 0x01;
  EXPECT_EQ(trusted.Open(tampered).status().code(),
            absl::StatusCode::kPermissionDenied);
  v1::SignedBundle unsigned_bundle = *signed_bundle;
  unsigned_bundle.clear_signature();
  EXPECT_EQ(trusted.Open(unsigned_bundle).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(SigningTest, OpenRefusesSignedBytesThatAreNotABundle) {
  Ed25519Key key = NewKey();
  TrustedKeys trusted = Trust({key});
  v1::SignedBundle signed_bundle;
  signed_bundle.set_bundle("\xff\xff\xff");
  signed_bundle.set_signature(
      *SignEd25519(key.private_pem, signed_bundle.bundle()));
  signed_bundle.set_key_id(*KeyIdOf(key.public_pem));
  EXPECT_EQ(trusted.Open(signed_bundle).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace pdp
