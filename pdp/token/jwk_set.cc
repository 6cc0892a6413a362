#include "pdp/token/jwk_set.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "pdp/token/base64url.h"
#include "pdp/token/openssl_ptr.h"
#include "pdp/quote.h"

namespace pdp {
namespace token {
namespace {

using internal::OpenSslPtr;
using Json = nlohmann::json;

constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 16384;
constexpr size_t kMaxRsaExponentBytes = 8;
constexpr size_t kP256CoordinateSize = 32;
constexpr size_t kEd25519KeySize = 32;

// Members that only a private (or symmetric) key has.
constexpr const char* kPrivateMembers[] = {"d",  "p",  "q",   "dp",
                                           "dq", "qi", "oth", "k"};

// Reads a base64url member; InvalidArgument naming it otherwise.
absl::StatusOr<std::string> Member(const Json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the member \"", name, "\" is missing"));
  }
  if (!it->is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the member \"", name, "\" is not a string"));
  }
  absl::StatusOr<std::string> decoded =
      Base64UrlDecode(it->get_ref<const std::string&>());
  if (!decoded.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the member \"", name, "\" is not base64url without padding"));
  }
  return decoded;
}

OpenSslPtr<BIGNUM> ToBignum(const std::string& bytes) {
  return OpenSslPtr<BIGNUM>(
      BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                static_cast<int>(bytes.size()), nullptr));
}

// A public key from OSSL_PARAMs; null if OpenSSL refuses them.
OpenSslPtr<EVP_PKEY> FromData(const char* type, OSSL_PARAM_BLD* builder) {
  OpenSslPtr<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(builder));
  OpenSslPtr<EVP_PKEY_CTX> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (params == nullptr || ctx == nullptr ||
      EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) !=
          1) {
    EVP_PKEY_free(key);
    return nullptr;
  }
  return OpenSslPtr<EVP_PKEY>(key);
}

absl::StatusOr<OpenSslPtr<EVP_PKEY>> RsaKey(const Json& jwk) {
  absl::StatusOr<std::string> n = Member(jwk, "n");
  if (!n.ok()) return n.status();
  absl::StatusOr<std::string> e = Member(jwk, "e");
  if (!e.ok()) return e.status();
  OpenSslPtr<BIGNUM> n_bn = ToBignum(*n);
  OpenSslPtr<BIGNUM> e_bn = ToBignum(*e);
  if (n_bn == nullptr || e_bn == nullptr) {
    return absl::InternalError("OpenSSL could not allocate a number");
  }
  const int bits = BN_num_bits(n_bn.get());
  if (bits < kMinRsaBits) {
    return absl::InvalidArgumentError(
        absl::StrCat("the RSA modulus has ", bits, " bits; at least ",
                     kMinRsaBits, " are required"));
  }
  if (bits > kMaxRsaBits) {
    return absl::InvalidArgumentError(
        absl::StrCat("the RSA modulus has ", bits, " bits; at most ",
                     kMaxRsaBits, " are supported"));
  }
  if (!BN_is_odd(n_bn.get())) {
    return absl::InvalidArgumentError("the RSA modulus is even");
  }
  if (e->size() > kMaxRsaExponentBytes || !BN_is_odd(e_bn.get()) ||
      BN_is_one(e_bn.get())) {
    return absl::InvalidArgumentError(
        "the RSA exponent must be odd, above 1 and at most 64 bits");
  }
  OpenSslPtr<OSSL_PARAM_BLD> builder(OSSL_PARAM_BLD_new());
  if (builder == nullptr ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N,
                             n_bn.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E,
                             e_bn.get()) != 1) {
    return absl::InternalError("OpenSSL could not build the RSA parameters");
  }
  OpenSslPtr<EVP_PKEY> key = FromData("RSA", builder.get());
  if (key == nullptr) {
    return absl::InvalidArgumentError("OpenSSL refuses the RSA public key");
  }
  return key;
}

absl::StatusOr<OpenSslPtr<EVP_PKEY>> EcKey(const Json& jwk) {
  absl::StatusOr<std::string> x = Member(jwk, "x");
  if (!x.ok()) return x.status();
  absl::StatusOr<std::string> y = Member(jwk, "y");
  if (!y.ok()) return y.status();
  if (x->size() != kP256CoordinateSize || y->size() != kP256CoordinateSize) {
    return absl::InvalidArgumentError(
        "a P-256 key needs x and y of exactly 32 bytes each");
  }
  // The uncompressed point: 0x04 || x || y.
  std::string point = absl::StrCat("\x04", *x, *y);
  OpenSslPtr<OSSL_PARAM_BLD> builder(OSSL_PARAM_BLD_new());
  if (builder == nullptr ||
      OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                      "prime256v1", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY,
                                       point.data(), point.size()) != 1) {
    return absl::InternalError("OpenSSL could not build the EC parameters");
  }
  OpenSslPtr<EVP_PKEY> key = FromData("EC", builder.get());
  if (key == nullptr) {
    return absl::InvalidArgumentError("the point (x, y) is not on P-256");
  }
  OpenSslPtr<EVP_PKEY_CTX> check(
      EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (check == nullptr || EVP_PKEY_public_check(check.get()) != 1) {
    return absl::InvalidArgumentError("the point (x, y) is not on P-256");
  }
  return key;
}

absl::StatusOr<OpenSslPtr<EVP_PKEY>> Ed25519Key(const Json& jwk) {
  absl::StatusOr<std::string> x = Member(jwk, "x");
  if (!x.ok()) return x.status();
  if (x->size() != kEd25519KeySize) {
    return absl::InvalidArgumentError(
        "an Ed25519 key needs x of exactly 32 bytes");
  }
  OpenSslPtr<EVP_PKEY> key(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr,
      reinterpret_cast<const unsigned char*>(x->data()), x->size()));
  if (key == nullptr) {
    return absl::InvalidArgumentError("OpenSSL refuses the Ed25519 key");
  }
  return key;
}

// The string member `name`, or "" if absent; InvalidArgument if present and
// not a string.
absl::StatusOr<std::string> OptionalString(const Json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end()) return std::string();
  if (!it->is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the member \"", name, "\" is not a string"));
  }
  return it->get<std::string>();
}

// Builds one key. `skip` is set for encryption keys.
absl::StatusOr<JwkSet::Key> ParseKey(const Json& jwk, bool* skip) {
  *skip = false;
  for (const char* member : kPrivateMembers) {
    if (jwk.contains(member)) {
      return absl::InvalidArgumentError(
          absl::StrCat("it has the private member \"", member,
                       "\"; a JWK set of trusted keys holds public keys only"));
    }
  }
  absl::StatusOr<std::string> kty = OptionalString(jwk, "kty");
  if (!kty.ok()) return kty.status();
  if (kty->empty()) {
    return absl::InvalidArgumentError("the member \"kty\" is missing");
  }
  if (*kty == "oct") {
    return absl::InvalidArgumentError(
        "symmetric keys (kty \"oct\") are not accepted: tokens must be "
        "signed with an asymmetric key");
  }
  absl::StatusOr<std::string> use = OptionalString(jwk, "use");
  if (!use.ok()) return use.status();
  if (*use == "enc") {
    *skip = true;
    return JwkSet::Key{};
  }
  if (!use->empty() && *use != "sig") {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"use\" is ", Quote(*use), "; only \"sig\" or \"enc\""));
  }
  absl::StatusOr<std::string> kid = OptionalString(jwk, "kid");
  if (!kid.ok()) return kid.status();
  if (kid->empty()) {
    return absl::InvalidArgumentError(
        "the member \"kid\" is missing or empty; every trusted key needs a "
        "key id");
  }
  absl::StatusOr<std::string> alg_name = OptionalString(jwk, "alg");
  if (!alg_name.ok()) return alg_name.status();
  absl::StatusOr<std::string> crv = OptionalString(jwk, "crv");
  if (!crv.ok()) return crv.status();

  JwkSet::Key key;
  key.kid = *kid;
  absl::StatusOr<OpenSslPtr<EVP_PKEY>> pkey;
  std::vector<JwsAlgorithm> fitting;
  if (*kty == "RSA") {
    fitting = {JwsAlgorithm::kRs256, JwsAlgorithm::kPs256};
    pkey = RsaKey(jwk);
  } else if (*kty == "EC") {
    if (*crv != "P-256") {
      return absl::InvalidArgumentError(
          absl::StrCat("the EC curve ", Quote(*crv),
                       " is not supported (only \"P-256\")"));
    }
    fitting = {JwsAlgorithm::kEs256};
    pkey = EcKey(jwk);
  } else if (*kty == "OKP") {
    if (*crv != "Ed25519") {
      return absl::InvalidArgumentError(
          absl::StrCat("the OKP curve ", Quote(*crv),
                       " is not supported (only \"Ed25519\")"));
    }
    fitting = {JwsAlgorithm::kEdDsa};
    pkey = Ed25519Key(jwk);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("the key type ", Quote(*kty),
                     " is not supported (only \"RSA\", \"EC\", \"OKP\")"));
  }
  if (alg_name->empty()) {
    key.alg = fitting.front();
  } else {
    std::optional<JwsAlgorithm> alg = ParseJwsAlgorithm(*alg_name);
    bool fits = false;
    for (JwsAlgorithm candidate : fitting) {
      if (alg.has_value() && *alg == candidate) fits = true;
    }
    if (!fits) {
      std::string allowed;
      for (JwsAlgorithm candidate : fitting) {
        absl::StrAppend(&allowed, allowed.empty() ? "" : " or ", "\"",
                        JwsAlgorithmName(candidate), "\"");
      }
      return absl::InvalidArgumentError(
          absl::StrCat("\"alg\" ", Quote(*alg_name),
                       " does not fit a key of type \"", *kty, "\" (it may be ",
                       allowed, ")"));
    }
    key.alg = *alg;
  }
  ERR_clear_error();
  if (!pkey.ok()) return pkey.status();
  key.key = internal::ShareKey(pkey->release());
  return key;
}

}  // namespace

absl::StatusOr<JwkSet> JwkSet::Parse(absl::string_view json) {
  const Json set = Json::parse(json.data(), json.data() + json.size(), nullptr,
                               /*allow_exceptions=*/false);
  if (set.is_discarded()) {
    return absl::InvalidArgumentError("the JWK set is not valid JSON");
  }
  if (!set.is_object()) {
    return absl::InvalidArgumentError("the JWK set is not a JSON object");
  }
  auto keys_it = set.find("keys");
  if (keys_it == set.end() || !keys_it->is_array()) {
    return absl::InvalidArgumentError("the JWK set has no \"keys\" array");
  }
  auto keys = std::make_shared<Keys>();
  size_t index = 0;
  for (const Json& jwk : *keys_it) {
    std::string label = absl::StrCat("key ", index);
    if (jwk.is_object()) {
      auto kid = jwk.find("kid");
      if (kid != jwk.end() && kid->is_string()) {
        absl::StrAppend(&label, " (kid ",
                        Quote(kid->get_ref<const std::string&>()),
                        ")");
      }
    }
    ++index;
    if (!jwk.is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat(label, ": not a JSON object"));
    }
    bool skip = false;
    absl::StatusOr<Key> key = ParseKey(jwk, &skip);
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(label, ": ", key.status().message()));
    }
    if (skip) continue;
    if (!keys->by_kid.emplace(key->kid, keys->list.size()).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          label,
          ": the key id is used by an earlier key; key ids must be "
          "unique"));
    }
    keys->list.push_back(*std::move(key));
  }
  return JwkSet(std::move(keys));
}

const JwkSet::Key* JwkSet::Find(absl::string_view kid) const {
  if (keys_ == nullptr) return nullptr;
  auto it = keys_->by_kid.find(kid);
  return it == keys_->by_kid.end() ? nullptr : &keys_->list[it->second];
}

const std::vector<JwkSet::Key>& JwkSet::keys() const {
  static const std::vector<Key>* const kEmpty = new std::vector<Key>();
  return keys_ != nullptr ? keys_->list : *kEmpty;
}

}  // namespace token
}  // namespace pdp
