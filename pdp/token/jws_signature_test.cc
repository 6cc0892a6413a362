#include "pdp/token/jws_signature.h"

#include <string>

#include "gtest/gtest.h"
#include "pdp/token/base64url.h"
#include "pdp/token/jwk_set.h"
#include "pdp/token/testing/token_minter.h"

namespace pdp {
namespace token {
namespace {

using internal::VerifyJwsSignature;

EVP_PKEY* KeyOf(const JwkSet& set, absl::string_view kid) {
  const JwkSet::Key* key = set.Find(kid);
  EXPECT_NE(key, nullptr) << kid;
  return key != nullptr ? key->key.get() : nullptr;
}

std::string Decode(absl::string_view encoded) {
  absl::StatusOr<std::string> decoded = Base64UrlDecode(encoded);
  EXPECT_TRUE(decoded.ok());
  return decoded.value_or("");
}

std::string Flip(std::string bytes, size_t index) {
  bytes[index] ^= 0x01;
  return bytes;
}

// Known answers from the RFCs: what other implementations sign, we verify.
// RFC 7515 appendix A.2 (RS256), A.3 (ES256) and RFC 8037 appendix A.4
// (Ed25519).
constexpr char kRfcKeys[] = R"({"keys": [
  {"kty": "RSA", "kid": "rfc7515-a2",
   "n": "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",
   "e": "AQAB"},
  {"kty": "EC", "crv": "P-256", "kid": "rfc7515-a3",
   "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
   "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
  {"kty": "OKP", "crv": "Ed25519", "kid": "rfc8037",
   "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
]})";

constexpr char kRfc7515Payload[] =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNv"
    "bS9pc19yb290Ijp0cnVlfQ";

TEST(JwsSignatureTest, VerifiesTheRfcExamples) {
  absl::StatusOr<JwkSet> set = JwkSet::Parse(kRfcKeys);
  ASSERT_TRUE(set.ok()) << set.status();

  const std::string rs256_input =
      std::string("eyJhbGciOiJSUzI1NiJ9.") + kRfc7515Payload;
  const std::string rs256_signature = Decode(
      "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm"
      "4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--"
      "f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383Lc"
      "OLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUi"
      "pUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw");
  EXPECT_TRUE(VerifyJwsSignature(JwsAlgorithm::kRs256,
                                 KeyOf(*set, "rfc7515-a2"), rs256_input,
                                 rs256_signature));
  EXPECT_FALSE(VerifyJwsSignature(JwsAlgorithm::kRs256,
                                  KeyOf(*set, "rfc7515-a2"), rs256_input,
                                  Flip(rs256_signature, 100)));
  // The same key and signature, read as PSS, does not verify.
  EXPECT_FALSE(VerifyJwsSignature(JwsAlgorithm::kPs256,
                                  KeyOf(*set, "rfc7515-a2"), rs256_input,
                                  rs256_signature));

  const std::string es256_input =
      std::string("eyJhbGciOiJFUzI1NiJ9.") + kRfc7515Payload;
  const std::string es256_signature = Decode(
      "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxf"
      "KTUJqPP3-Kg6NU1Q");
  EXPECT_TRUE(VerifyJwsSignature(JwsAlgorithm::kEs256,
                                 KeyOf(*set, "rfc7515-a3"), es256_input,
                                 es256_signature));
  EXPECT_FALSE(VerifyJwsSignature(JwsAlgorithm::kEs256,
                                  KeyOf(*set, "rfc7515-a3"), es256_input,
                                  Flip(es256_signature, 40)));
  // r and s swapped.
  EXPECT_FALSE(VerifyJwsSignature(
      JwsAlgorithm::kEs256, KeyOf(*set, "rfc7515-a3"), es256_input,
      es256_signature.substr(32) + es256_signature.substr(0, 32)));

  const std::string eddsa_input =
      "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
  const std::string eddsa_signature = Decode(
      "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9"
      "g7sVvpAr_MuM0KAg");
  EXPECT_TRUE(VerifyJwsSignature(JwsAlgorithm::kEdDsa, KeyOf(*set, "rfc8037"),
                                 eddsa_input, eddsa_signature));
  EXPECT_FALSE(VerifyJwsSignature(JwsAlgorithm::kEdDsa, KeyOf(*set, "rfc8037"),
                                  eddsa_input + "x", eddsa_signature));
}

TEST(JwsSignatureTest, RefusesSignaturesOfTheWrongShape) {
  const TestSigningKey es = TestSigningKey::Generate(JwsAlgorithm::kEs256, "e");
  const std::string input = "eyJhbGciOiJFUzI1NiJ9.e30";
  EXPECT_TRUE(VerifyJwsSignature(JwsAlgorithm::kEs256, es.pkey(), input,
                                 es.Sign(input)));
  // OpenSSL's own DER form is not JOSE's r || s.
  EXPECT_FALSE(VerifyJwsSignature(JwsAlgorithm::kEs256, es.pkey(), input,
                                  es.SignDer(input)));
  EXPECT_FALSE(VerifyJwsSignature(JwsAlgorithm::kEs256, es.pkey(), input, ""));
  EXPECT_FALSE(VerifyJwsSignature(JwsAlgorithm::kEs256, es.pkey(), input,
                                  std::string(64, '\0')));
  EXPECT_FALSE(VerifyJwsSignature(JwsAlgorithm::kEs256, es.pkey(), input,
                                  std::string(64, '\xff')));
  EXPECT_FALSE(VerifyJwsSignature(JwsAlgorithm::kEs256, es.pkey(), input,
                                  es.Sign(input) + std::string(1, '\0')));
}

TEST(JwsSignatureTest, EachAlgorithmOnlyWithItsKeyType) {
  const TestSigningKey rs = TestSigningKey::Generate(JwsAlgorithm::kRs256, "r");
  const TestSigningKey ps = TestSigningKey::Generate(JwsAlgorithm::kPs256, "p");
  const TestSigningKey es = TestSigningKey::Generate(JwsAlgorithm::kEs256, "e");
  const TestSigningKey ed = TestSigningKey::Generate(JwsAlgorithm::kEdDsa, "d");
  const std::string input = "aGVhZGVy.cGF5bG9hZA";
  for (const TestSigningKey* signer : {&rs, &ps, &es, &ed}) {
    const std::string signature = signer->Sign(input);
    for (const TestSigningKey* verifier : {&rs, &ps, &es, &ed}) {
      for (JwsAlgorithm alg : {JwsAlgorithm::kRs256, JwsAlgorithm::kPs256,
                               JwsAlgorithm::kEs256, JwsAlgorithm::kEdDsa}) {
        const bool expected = signer == verifier && alg == signer->alg();
        EXPECT_EQ(VerifyJwsSignature(alg, verifier->pkey(), input, signature),
                  expected)
            << signer->kid() << " " << verifier->kid() << " "
            << JwsAlgorithmName(alg);
      }
    }
  }
}

}  // namespace
}  // namespace token
}  // namespace pdp
