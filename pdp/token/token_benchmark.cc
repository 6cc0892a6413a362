// Token verification cost: bazel run -c opt //pdp/token:token_benchmark
//
// BM_VerifyUncached/<alg>: a full verification (parse, signature, claims)
//   with the cache off.
// BM_SignatureOnly/<alg>: the OpenSSL signature check alone, for comparison.
// BM_VerifyCached: the same token again, answered from the cache.
// BM_Base64UrlDecode: decoding the three parts of a typical token.
// Tokens are ~800 bytes: an RFC 9068 access token with scopes, amr, act and
// cnf.

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "nlohmann/json.hpp"
#include "pdp/token/base64url.h"
#include "pdp/token/jwk_set.h"
#include "pdp/token/jws_signature.h"
#include "pdp/token/testing/token_minter.h"
#include "pdp/token/token_verifier.h"

namespace pdp {
namespace token {
namespace {

constexpr char kIssuer[] = "https://auth.acme.example";
constexpr int64_t kNow = 1795000000;

nlohmann::json TypicalClaims() {
  return {
      {"iss", kIssuer},
      {"sub", "248289761001"},
      {"client_id", "s6BhdRkqt3-crm-assistant"},
      {"aud", {"https://mcp.acme.example/crm"}},
      {"scope",
       "openid profile crm.read crm.write crm.contacts.read "
       "crm.contacts.write calendar.read mail.send tickets.read tickets.write"},
      {"amr", {"pwd", "mfa", "hwk"}},
      {"acr", "urn:acme:loa:high"},
      {"act", {{"sub", "agent:research-assistant-7"}}},
      {"iat", kNow - 10},
      {"nbf", kNow - 10},
      {"exp", kNow + 300},
      {"auth_time", kNow - 120},
      {"jti", "c5b1f8a0-4f1e-4b8e-9c6a-3d2e1f0a9b8c"},
      {"cnf", {{"x5t#S256", "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}}}};
}

// One key per algorithm for the whole run (RSA key generation is slow).
const TestSigningKey& KeyFor(JwsAlgorithm alg) {
  static const TestSigningKey* keys[] = {
      new TestSigningKey(TestSigningKey::Generate(JwsAlgorithm::kRs256, "k")),
      new TestSigningKey(TestSigningKey::Generate(JwsAlgorithm::kPs256, "k")),
      new TestSigningKey(TestSigningKey::Generate(JwsAlgorithm::kEs256, "k")),
      new TestSigningKey(TestSigningKey::Generate(JwsAlgorithm::kEdDsa, "k"))};
  return *keys[static_cast<int>(alg)];
}

struct Fixture {
  explicit Fixture(JwsAlgorithm alg, size_t cache_entries)
      : key(KeyFor(alg)), verifier([&] {
          TokenVerifierOptions options;
          options.cache_entries = cache_entries;
          return options;
        }()) {
    verifier.SetIssuers({{kIssuer, *JwkSet::Parse(JwkSetJson({&key}))}});
    token = MintToken(key, TypicalClaims(), {{"typ", "at+jwt"}});
  }
  const TestSigningKey& key;
  TokenVerifier verifier;
  std::string token;
};

void BM_VerifyUncached(benchmark::State& state, JwsAlgorithm alg) {
  Fixture fixture(alg, /*cache_entries=*/0);
  const absl::Time now = absl::FromUnixSeconds(kNow);
  for (auto _ : state) {
    TokenVerifier::Result result = fixture.verifier.Verify(fixture.token, now);
    if (!result.ok()) state.SkipWithError("rejected");
    benchmark::DoNotOptimize(result);
  }
  state.counters["token_bytes"] = fixture.token.size();
}
BENCHMARK_CAPTURE(BM_VerifyUncached, RS256, JwsAlgorithm::kRs256);
BENCHMARK_CAPTURE(BM_VerifyUncached, PS256, JwsAlgorithm::kPs256);
BENCHMARK_CAPTURE(BM_VerifyUncached, ES256, JwsAlgorithm::kEs256);
BENCHMARK_CAPTURE(BM_VerifyUncached, EdDSA, JwsAlgorithm::kEdDsa);

// The signature check alone (OpenSSL), on the same token.
void BM_SignatureOnly(benchmark::State& state, JwsAlgorithm alg) {
  Fixture fixture(alg, /*cache_entries=*/0);
  const size_t dot = fixture.token.rfind('.');
  const std::string input = fixture.token.substr(0, dot);
  const std::string signature = *Base64UrlDecode(fixture.token.substr(dot + 1));
  // The public key as the verifier holds it (built from the JWK).
  const JwkSet keys = *JwkSet::Parse(JwkSetJson({&fixture.key}));
  EVP_PKEY* key = keys.Find(fixture.key.kid())->key.get();
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        internal::VerifyJwsSignature(alg, key, input, signature));
  }
}
BENCHMARK_CAPTURE(BM_SignatureOnly, RS256, JwsAlgorithm::kRs256);
BENCHMARK_CAPTURE(BM_SignatureOnly, PS256, JwsAlgorithm::kPs256);
BENCHMARK_CAPTURE(BM_SignatureOnly, ES256, JwsAlgorithm::kEs256);
BENCHMARK_CAPTURE(BM_SignatureOnly, EdDSA, JwsAlgorithm::kEdDsa);

void BM_VerifyCached(benchmark::State& state) {
  static Fixture* fixture = new Fixture(JwsAlgorithm::kEs256, 100000);
  const absl::Time now = absl::FromUnixSeconds(kNow);
  if (!fixture->verifier.Verify(fixture->token, now).ok()) {
    state.SkipWithError("rejected");
  }
  for (auto _ : state) {
    TokenVerifier::Result result =
        fixture->verifier.Verify(fixture->token, now);
    benchmark::DoNotOptimize(result);
  }
  state.counters["token_bytes"] = fixture->token.size();
}
BENCHMARK(BM_VerifyCached)->Threads(1)->Threads(2);

void BM_Base64UrlDecode(benchmark::State& state) {
  Fixture fixture(JwsAlgorithm::kEs256, 0);
  const std::vector<std::string> parts = absl::StrSplit(fixture.token, '.');
  for (auto _ : state) {
    for (const std::string& part : parts) {
      absl::StatusOr<std::string> bytes = Base64UrlDecode(part);
      benchmark::DoNotOptimize(bytes);
    }
  }
  state.SetBytesProcessed(state.iterations() * fixture.token.size());
}
BENCHMARK(BM_Base64UrlDecode);

}  // namespace
}  // namespace token
}  // namespace pdp
