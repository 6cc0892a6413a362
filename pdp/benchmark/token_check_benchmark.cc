// A Check whose chain comes from a verified access token, in-process, as
// the server decides it: Engine::Check (verification, or the verified-token
// cache, then the evaluator), next to the same Check with asserted ids.
//
//   bazel run -c opt //pdp/benchmark:token_check_benchmark
//
// Results: docs/benchmarks.md.

#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "nlohmann/json.hpp"
#include "pdp/active_policy.h"
#include "pdp/chain_tokens.h"
#include "pdp/engine.h"
#include "pdp/evaluator.h"
#include "pdp/testing/compile.h"
#include "pdp/token_source.h"
#include "pdp/token/testing/token_minter.h"

namespace pdp {
namespace {

using token::JwsAlgorithm;
using token::TestSigningKey;

constexpr char kPolicy[] = R"(
servers:
  - id: crm
    audiences: ["https://crm.mcp.example"]
tools:
  - {id: crm.search_contacts, scopes: [contacts:read], data: [pii]}
  - {id: crm.export_contacts, scopes: [contacts:read, contacts:export], data: [pii]}
roles:
  - {id: sales, tools: ["crm.*"], data: [pii]}
agents:
  - {id: sales-assistant, tools: ["crm.*"], data: [pii], autonomous: true}
clients:
  - {id: desktop, trust: standard, scopes: [contacts:read, contacts:export]}
users:
  - {id: alice@acme.example, roles: [sales]}
)";

constexpr char kIssuer[] = "https://login.acme.example";

struct Fixture {
  explicit Fixture(JwsAlgorithm alg, size_t cache_entries)
      : key(TestSigningKey::Generate(alg, "k1")) {
    snapshot = *testgen::CompileYaml(kPolicy);
    token::TrustedIssuer issuer;
    issuer.issuer = kIssuer;
    issuer.keys = *token::JwkSet::Parse(token::JwkSetJson({&key}));
    settings.issuers = {issuer};
    token::TokenVerifierOptions options;
    options.cache_entries = cache_entries;
    auto verifier = std::make_shared<token::TokenVerifier>(options);
    verifier->SetIssuers(settings.issuers);
    trust = std::make_unique<FixedTokenSource>(TokenSource::Current{
        std::make_shared<const token::TokenSettings>(settings),
        std::move(verifier)});
    policy.Activate(snapshot);
    Engine::Options engine_options;
    engine_options.tokens = trust.get();
    engine = std::make_unique<Engine>(policy, engine_options);
    const int64_t now = absl::ToUnixSeconds(absl::Now());
    tokens.access_token = MintToken(
        key, {{"iss", kIssuer},
              {"sub", "alice@acme.example"},
              {"client_id", "desktop"},
              {"scope", "contacts:read contacts:export"},
              {"aud", "https://crm.mcp.example"},
              {"act", {{"sub", "sales-assistant"}}},
              {"amr", {"pwd"}},
              {"jti", "0f3c2a5e-5b8c-4f1e-9a57-1f6f0d1e2c3b"},
              {"iat", now},
              {"exp", now + 900}});
  }

  TestSigningKey key;
  std::shared_ptr<const Snapshot> snapshot;
  token::TokenSettings settings;
  std::unique_ptr<FixedTokenSource> trust;
  ActivePolicy policy;
  std::unique_ptr<Engine> engine;
  ChainTokens tokens;
};

void VerifiedCheck(benchmark::State& state, Fixture& f) {
  for (auto _ : state) {
    Request request;
    request.tool_id = "crm.search_contacts";
    absl::StatusOr<Engine::Checked> d =
        f.engine->Check(std::move(request), f.tokens);
    if (!d.ok() || d->decision.effect != v1::EFFECT_ALLOW) {
      state.SkipWithError("the verified check was not ALLOW");
      break;
    }
    benchmark::DoNotOptimize(d);
  }
  state.counters["token_bytes"] = f.tokens.access_token.size();
}

void BM_VerifiedCheck_Cached(benchmark::State& state) {
  Fixture f(JwsAlgorithm::kEs256, 100000);
  VerifiedCheck(state, f);
}

void BM_VerifiedCheck_Uncached(benchmark::State& state) {
  Fixture f(static_cast<JwsAlgorithm>(state.range(0)), 0);
  state.SetLabel(std::string(token::JwsAlgorithmName(
      static_cast<JwsAlgorithm>(state.range(0)))));
  VerifiedCheck(state, f);
}

void BM_AssertedCheck(benchmark::State& state) {
  Fixture f(JwsAlgorithm::kEs256, 0);
  Request request;
  request.tool_id = "crm.search_contacts";
  request.chain.user_id = "alice@acme.example";
  request.chain.client_id = "desktop";
  request.chain.agent_id = "sales-assistant";
  request.chain.scopes = {"contacts:read", "contacts:export"};
  request.chain.amr = {"pwd"};
  for (auto _ : state) {
    benchmark::DoNotOptimize(Check(*f.snapshot, request));
  }
}

BENCHMARK(BM_AssertedCheck);
BENCHMARK(BM_VerifiedCheck_Cached);
BENCHMARK(BM_VerifiedCheck_Uncached)
    ->Arg(static_cast<int>(JwsAlgorithm::kRs256))
    ->Arg(static_cast<int>(JwsAlgorithm::kPs256))
    ->Arg(static_cast<int>(JwsAlgorithm::kEs256))
    ->Arg(static_cast<int>(JwsAlgorithm::kEdDsa));

}  // namespace
}  // namespace pdp
