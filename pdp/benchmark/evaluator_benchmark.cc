// Benchmarks of the hot path (DESIGN §7) over a generated policy of 10,000
// tools (the server "big" has 1,000), 200 roles, 50 agents, 20 clients,
// 10 services and 1,000 users (pdp/testing/policy_generator.h).
//
//   bazel run -c opt //pdp/benchmark:evaluator_benchmark
//
// Aims: Check median < 1 us; FilterTools over the 1,000-tool server < 10 us;
// compiling the whole policy directory < 1 s. Results: docs/benchmarks.md.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "pdp/active_policy.h"
#include "pdp/compiler.h"
#include "pdp/diagnostics.h"
#include "pdp/engine.h"
#include "pdp/evaluator.h"
#include "pdp/user_source.h"
#include "pdp/names.h"
#include "pdp/policy_loader.h"
#include "pdp/testing/chain_generator.h"
#include "pdp/testing/policy_generator.h"

namespace pdp {
namespace {

using testgen::ChainGenerator;
using testgen::ChainGeneratorOptions;

// Repetitions for the per-request benchmarks; their median is the figure.
constexpr int kRepetitions = 10;

// The generated policy directory, removed at exit.
std::string& GeneratedDir() {
  static std::string* dir = new std::string();
  return *dir;
}

void RemoveGeneratedDir() {
  std::error_code ec;
  std::filesystem::remove_all(GeneratedDir(), ec);
}

void Die(const std::string& message) {
  std::fprintf(stderr, "evaluator_benchmark: %s\n", message.c_str());
  std::exit(1);
}

// The generated policy, written to a temporary directory and compiled once,
// with the requests the benchmarks replay.
class Fixture {
 public:
  static const Fixture& Get() {
    static const Fixture* fixture = new Fixture();
    return *fixture;
  }

  const std::string& dir() const { return dir_; }
  const Snapshot& snapshot() const { return *snapshot_; }
  const std::shared_ptr<const Snapshot>& shared_snapshot() const {
    return snapshot_;
  }

  Request allow;              // call -> ALLOW, no agent.
  Request allow_with_agent;   // call -> ALLOW through an agent.
  Request see;                // see -> ALLOW, with an agent.
  Request step_up;            // call -> STEP_UP.
  Request approval;           // call -> REQUIRE_APPROVAL, autonomous agent.
  Request deny;               // call -> DENY with at least 3 reasons.
  Request deny_unknown_tool;  // call -> DENY TOOL_UNKNOWN.
  Chain filter_chain;         // Sees the most tools of "big", no agent.
  Chain filter_agent_chain;   // The same user through an agent.
  // filter_chain with its token cut to the scopes that tools of "big" use:
  // the same visible tools, from a smaller token.
  Chain filter_narrow_chain;
  int filter_visible = 0;
  int filter_agent_visible = 0;
  std::vector<Request> batch;          // 100 mixed requests.
  std::vector<Request> mix;            // 1,000 mixed requests.
  std::vector<std::string> tool_list;  // 50 ids across servers.

 private:
  Fixture() {
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = absl::StrCat(tmp != nullptr ? tmp : "/tmp",
                        "/pdp_evaluator_benchmark_", getpid());
    GeneratedDir() = dir_;
    std::atexit(RemoveGeneratedDir);
    if (absl::Status s =
            testgen::WritePolicyFiles(testgen::GeneratePolicy(), dir_);
        !s.ok()) {
      Die(std::string(s.message()));
    }
    absl::StatusOr<std::shared_ptr<const Snapshot>> snapshot =
        Compiler::CompileDirectory(dir_);
    if (!snapshot.ok()) Die(std::string(snapshot.status().message()));
    snapshot_ = *std::move(snapshot);
    FindRequests();
    FindFilterChains();
  }

  ~Fixture() = delete;

  // The first generated request for which `pred` holds.
  Request Find(const ChainGeneratorOptions& options,
               const std::function<bool(const Request&, const Decision&)>& pred,
               const char* what) {
    ChainGenerator gen(*snapshot_, options);
    for (int i = 0; i < 1000000; ++i) {
      Request request = gen.NextRequest();
      absl::StatusOr<Decision> d = Check(*snapshot_, request);
      if (d.ok() && pred(request, *d)) return request;
    }
    Die(absl::StrCat("no generated request is ", what));
    return {};
  }

  void FindRequests() {
    ChainGeneratorOptions known;
    known.service_chain = 0;
    known.unknown_id = 0;
    known.asserted_roles = 0;
    known.granted_tool = 1;
    ChainGeneratorOptions no_agent = known;
    no_agent.with_agent = 0;
    ChainGeneratorOptions with_agent = known;
    with_agent.with_agent = 1;
    auto effect_is = [](v1::Effect effect, Action action) {
      return [effect, action](const Request& r, const Decision& d) {
        return r.action == action && d.effect == effect;
      };
    };
    allow = Find(no_agent, effect_is(v1::EFFECT_ALLOW, Action::kCall),
                 "ALLOW without an agent");
    allow_with_agent =
        Find(with_agent, effect_is(v1::EFFECT_ALLOW, Action::kCall),
             "ALLOW with an agent");
    see = Find(with_agent, effect_is(v1::EFFECT_ALLOW, Action::kSee),
               "a visible tool");
    step_up =
        Find(no_agent, effect_is(v1::EFFECT_STEP_UP, Action::kCall), "STEP_UP");
    approval =
        Find(with_agent, effect_is(v1::EFFECT_REQUIRE_APPROVAL, Action::kCall),
             "REQUIRE_APPROVAL");
    ChainGeneratorOptions random_tool = with_agent;
    random_tool.granted_tool = 0;
    deny = Find(
        random_tool,
        [](const Request& r, const Decision& d) {
          return r.action == Action::kCall && d.reasons.size() >= 3;
        },
        "DENY with 3 reasons");
    deny_unknown_tool = allow;
    deny_unknown_tool.tool_id = "big.tool_999999";

    ChainGenerator gen(*snapshot_, ChainGeneratorOptions{});
    for (int i = 0; i < 100; ++i) batch.push_back(gen.NextRequest());
    for (int i = 0; i < 1000; ++i) mix.push_back(gen.NextRequest());
    for (int i = 0; i < 50; ++i) tool_list.push_back(gen.NextToolId());
  }

  // The (user, client) pair that sees the most tools of "big", and the agent
  // that keeps the most of them.
  void FindFilterChains() {
    const Snapshot& s = *snapshot_;
    ToolSelection big;
    big.server_id = "big";
    for (const Snapshot::User& user : s.users()) {
      for (const Snapshot::Client& client : s.clients()) {
        Chain chain;
        chain.user_id = user.id;
        chain.client_id = client.id;
        chain.amr = {"pwd", "otp"};
        client.scopes.ForEach(
            [&](size_t scope) { chain.scopes.push_back(s.scopes()[scope]); });
        absl::StatusOr<std::vector<VisibleTool>> visible =
            FilterTools(s, chain, big);
        if (visible.ok() &&
            static_cast<int>(visible->size()) > filter_visible) {
          filter_visible = static_cast<int>(visible->size());
          filter_chain = chain;
        }
      }
    }
    std::set<std::string> big_scopes;
    const Snapshot::Server* server = s.FindServer("big");
    for (int t = server->begin; t < server->end; ++t) {
      for (int scope : s.tools()[t].scopes)
        big_scopes.insert(s.scopes()[scope]);
    }
    filter_narrow_chain = filter_chain;
    filter_narrow_chain.scopes.clear();
    for (const std::string& scope : filter_chain.scopes) {
      if (big_scopes.count(scope) > 0) {
        filter_narrow_chain.scopes.push_back(scope);
      }
    }
    for (const Snapshot::Agent& agent : s.agents()) {
      Chain chain = filter_chain;
      chain.agent_id = agent.id;
      absl::StatusOr<std::vector<VisibleTool>> visible =
          FilterTools(s, chain, big);
      if (visible.ok() &&
          static_cast<int>(visible->size()) > filter_agent_visible) {
        filter_agent_visible = static_cast<int>(visible->size());
        filter_agent_chain = chain;
      }
    }
  }

  std::string dir_;
  std::shared_ptr<const Snapshot> snapshot_;
};

void RunCheck(benchmark::State& state, const Request& request) {
  const Snapshot& s = Fixture::Get().snapshot();
  for (auto _ : state) {
    absl::StatusOr<Decision> d = Check(s, request);
    benchmark::DoNotOptimize(d);
  }
  absl::StatusOr<Decision> d = Check(s, request);
  state.SetLabel(absl::StrCat(EffectName(d->effect), ", ", d->reasons.size(),
                              " reason(s)"));
}

void BM_Check_Allow(benchmark::State& state) {
  RunCheck(state, Fixture::Get().allow);
}
void BM_Check_AllowWithAgent(benchmark::State& state) {
  RunCheck(state, Fixture::Get().allow_with_agent);
}
void BM_Check_See(benchmark::State& state) {
  RunCheck(state, Fixture::Get().see);
}
void BM_Check_StepUp(benchmark::State& state) {
  RunCheck(state, Fixture::Get().step_up);
}
void BM_Check_RequireApproval(benchmark::State& state) {
  RunCheck(state, Fixture::Get().approval);
}
void BM_Check_DenySeveralReasons(benchmark::State& state) {
  RunCheck(state, Fixture::Get().deny);
}
void BM_Check_DenyUnknownTool(benchmark::State& state) {
  RunCheck(state, Fixture::Get().deny_unknown_tool);
}
BENCHMARK(BM_Check_Allow)->Repetitions(kRepetitions)->ReportAggregatesOnly();

// The Engine's cost per decision: Engine::Check next to what a server did
// before the Engine, by hand: load the active snapshot, then Check a fresh
// request (a server translates each request into a new one, which the
// Engine moves, never copies). Both pay the same snapshot load.
void BM_Check_AllowFreshRequest(benchmark::State& state) {
  ActivePolicy policy;
  policy.Activate(Fixture::Get().shared_snapshot());
  for (auto _ : state) {
    Request request = Fixture::Get().allow;
    std::shared_ptr<const Snapshot> snapshot = policy.Get();
    absl::StatusOr<Decision> d = Check(*snapshot, request);
    benchmark::DoNotOptimize(d);
  }
}
void BM_EngineCheck_Allow(benchmark::State& state) {
  ActivePolicy policy;
  policy.Activate(Fixture::Get().shared_snapshot());
  const Engine engine(policy, {});
  for (auto _ : state) {
    absl::StatusOr<Engine::Checked> d = engine.Check(Fixture::Get().allow);
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_Check_AllowFreshRequest)
    ->Repetitions(kRepetitions)
    ->ReportAggregatesOnly();
BENCHMARK(BM_EngineCheck_Allow)
    ->Repetitions(kRepetitions)
    ->ReportAggregatesOnly();

// A user directory as the server's warm cache answers it: an in-memory map
// of shared users.
class MapDirectory : public pdp::UserSource {
 public:
  void Put(std::shared_ptr<const pdp::v1::User> user) {
    users_[user->id()] = std::move(user);
  }
  pdp::DirectoryEntry Find(absl::string_view id) const override {
    auto it = users_.find(id);
    return {it == users_.end() ? nullptr : it->second};
  }

 private:
  absl::flat_hash_map<std::string, std::shared_ptr<const pdp::v1::User>>
      users_;
};

// The ALLOW request of BM_Check_Allow, its user taken from a directory (with
// the same roles) instead of the bundle.
void BM_Check_AllowDirectoryUser(benchmark::State& state) {
  const Snapshot& s = Fixture::Get().snapshot();
  const Request& request = Fixture::Get().allow;
  const Snapshot::User& bundle_user = s.users()[s.FindUser(request.chain.user_id)];
  auto user = std::make_shared<pdp::v1::User>();
  user->set_id(bundle_user.id);
  for (int r : bundle_user.roles) user->add_roles(s.roles()[r].id);
  MapDirectory directory;
  directory.Put(user);
  for (auto _ : state) {
    absl::StatusOr<Decision> d = Check(s, request, &directory);
    benchmark::DoNotOptimize(d);
  }
  absl::StatusOr<Decision> d = Check(s, request, &directory);
  state.SetLabel(absl::StrCat(EffectName(d->effect), ", ", user->roles_size(),
                              " role(s) from the directory"));
}
BENCHMARK(BM_Check_AllowDirectoryUser)
    ->Repetitions(kRepetitions)
    ->ReportAggregatesOnly();
BENCHMARK(BM_Check_Allow)
    ->Threads(2)
    ->Repetitions(kRepetitions)
    ->ReportAggregatesOnly();
BENCHMARK(BM_Check_AllowWithAgent)
    ->Repetitions(kRepetitions)
    ->ReportAggregatesOnly();
BENCHMARK(BM_Check_See)->Repetitions(kRepetitions)->ReportAggregatesOnly();
BENCHMARK(BM_Check_StepUp)->Repetitions(kRepetitions)->ReportAggregatesOnly();
BENCHMARK(BM_Check_RequireApproval)
    ->Repetitions(kRepetitions)
    ->ReportAggregatesOnly();
BENCHMARK(BM_Check_DenySeveralReasons)
    ->Repetitions(kRepetitions)
    ->ReportAggregatesOnly();
BENCHMARK(BM_Check_DenyUnknownTool)
    ->Repetitions(kRepetitions)
    ->ReportAggregatesOnly();

// Requests from the chain generator's default mix (every effect, some unknown
// ids, services, agents), one after the other. The time is the mean over the
// mix; the counters are percentiles of each request's own time, so p50 is the
// median Check.
void BM_Check_Mix(benchmark::State& state) {
  const Fixture& f = Fixture::Get();
  const Snapshot& s = f.snapshot();
  size_t i = 0;
  for (auto _ : state) {
    absl::StatusOr<Decision> d = Check(s, f.mix[i]);
    benchmark::DoNotOptimize(d);
    if (++i == f.mix.size()) i = 0;
  }
  static const std::vector<double>* percentiles = [&] {
    std::vector<double> each;
    int effects[5] = {};
    for (const Request& request : f.mix) {
      // The fastest of a few rounds, so that a preemption does not count.
      constexpr int kRounds = 5, kRuns = 40;
      double best = 1e18;
      for (int round = 0; round < kRounds; ++round) {
        const auto start = std::chrono::steady_clock::now();
        for (int k = 0; k < kRuns; ++k) {
          absl::StatusOr<Decision> d = Check(s, request);
          benchmark::DoNotOptimize(d);
        }
        best = std::min(best, std::chrono::duration<double, std::nano>(
                                  std::chrono::steady_clock::now() - start)
                                      .count() /
                                  kRuns);
      }
      each.push_back(best);
      ++effects[Check(s, request)->effect];
    }
    std::sort(each.begin(), each.end());
    std::fprintf(stderr,
                 "BM_Check_Mix: %d ALLOW, %d DENY, %d STEP_UP, %d "
                 "REQUIRE_APPROVAL\n",
                 effects[v1::EFFECT_ALLOW], effects[v1::EFFECT_DENY],
                 effects[v1::EFFECT_STEP_UP],
                 effects[v1::EFFECT_REQUIRE_APPROVAL]);
    return new std::vector<double>{each[each.size() / 2],
                                   each[each.size() * 9 / 10],
                                   each[each.size() * 99 / 100]};
  }();
  state.counters["p50_ns"] = (*percentiles)[0];
  state.counters["p90_ns"] = (*percentiles)[1];
  state.counters["p99_ns"] = (*percentiles)[2];
}
BENCHMARK(BM_Check_Mix)->Repetitions(kRepetitions)->ReportAggregatesOnly();

void RunFilter(benchmark::State& state, const Chain& chain,
               const ToolSelection& selection) {
  const Snapshot& s = Fixture::Get().snapshot();
  state.counters["token_scopes"] = static_cast<double>(chain.scopes.size());
  size_t visible = 0;
  for (auto _ : state) {
    absl::StatusOr<std::vector<VisibleTool>> tools =
        FilterTools(s, chain, selection);
    visible = tools->size();
    benchmark::DoNotOptimize(tools);
  }
  state.counters["visible"] = static_cast<double>(visible);
}

void BM_FilterTools_BigServer(benchmark::State& state) {
  ToolSelection selection;
  selection.server_id = "big";
  RunFilter(state, Fixture::Get().filter_chain, selection);
}
void BM_FilterTools_BigServerNarrowToken(benchmark::State& state) {
  ToolSelection selection;
  selection.server_id = "big";
  RunFilter(state, Fixture::Get().filter_narrow_chain, selection);
}
void BM_FilterTools_BigServerWithAgent(benchmark::State& state) {
  ToolSelection selection;
  selection.server_id = "big";
  RunFilter(state, Fixture::Get().filter_agent_chain, selection);
}
void BM_FilterTools_ToolList50(benchmark::State& state) {
  ToolSelection selection;
  selection.tool_ids = Fixture::Get().tool_list;
  RunFilter(state, Fixture::Get().filter_chain, selection);
}
BENCHMARK(BM_FilterTools_BigServer)
    ->Repetitions(kRepetitions)
    ->ReportAggregatesOnly();
BENCHMARK(BM_FilterTools_BigServerNarrowToken)
    ->Repetitions(kRepetitions)
    ->ReportAggregatesOnly();
BENCHMARK(BM_FilterTools_BigServerWithAgent)
    ->Repetitions(kRepetitions)
    ->ReportAggregatesOnly();
BENCHMARK(BM_FilterTools_ToolList50)
    ->Repetitions(kRepetitions)
    ->ReportAggregatesOnly();

void BM_BatchCheck100(benchmark::State& state) {
  const Fixture& f = Fixture::Get();
  for (auto _ : state) {
    absl::StatusOr<std::vector<Decision>> d = BatchCheck(f.snapshot(), f.batch);
    benchmark::DoNotOptimize(d);
  }
  state.SetItemsProcessed(state.iterations() *
                          static_cast<int64_t>(f.batch.size()));
}
BENCHMARK(BM_BatchCheck100)->Repetitions(kRepetitions)->ReportAggregatesOnly();

// Loading and compiling the whole directory, as `pdpctl validate` and a
// policy push do.
void BM_CompileDirectory(benchmark::State& state) {
  const std::string& dir = Fixture::Get().dir();
  for (auto _ : state) {
    absl::StatusOr<std::shared_ptr<const Snapshot>> s =
        Compiler::CompileDirectory(dir);
    if (!s.ok()) state.SkipWithError("does not compile");
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_CompileDirectory)
    ->Unit(benchmark::kMillisecond)
    ->Repetitions(3)
    ->ReportAggregatesOnly();

// Only reading the YAML files into a bundle.
void BM_LoadOnly(benchmark::State& state) {
  const std::string& dir = Fixture::Get().dir();
  for (auto _ : state) {
    Diagnostics diagnostics;
    absl::StatusOr<v1::Bundle> bundle = LoadPolicyDirectory(dir, &diagnostics);
    benchmark::DoNotOptimize(bundle);
  }
}
BENCHMARK(BM_LoadOnly)->Unit(benchmark::kMillisecond);

// Only compiling a bundle already in memory (a pushed bundle).
void BM_CompileBundle(benchmark::State& state) {
  Diagnostics diagnostics;
  absl::StatusOr<v1::Bundle> bundle =
      LoadPolicyDirectory(Fixture::Get().dir(), &diagnostics);
  for (auto _ : state) {
    absl::StatusOr<std::shared_ptr<const Snapshot>> s =
        Compiler::Compile(*bundle);
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_CompileBundle)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pdp
