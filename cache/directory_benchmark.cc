// The user directory at scale: import rate, cold and warm lookup latency,
// and the process RSS. Not a test.
//   bazel run -c opt //cache:directory_benchmark
// The store lives in a fresh directory under $TEST_TMPDIR or /tmp and is
// removed at exit.

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "benchmark/benchmark.h"
#include "cache/store.h"
#include "cache/user_directory.h"

namespace pdp::cache {
namespace {

constexpr int kUsers = 1000000;
constexpr int kImportBatch = 1000;

// VmRSS of this process, in MiB.
double RssMiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
  }
  return 0;
}

std::string UserId(int i) { return absl::StrCat("user-", i, "@acme.example"); }

v1::User MakeUser(int i) {
  v1::User user;
  user.set_id(UserId(i));
  user.add_roles(absl::StrCat("role", i % 50));
  user.add_roles("employee");
  (*user.mutable_attributes())["dept"] = absl::StrCat("dept", i % 20);
  (*user.mutable_attributes())["region"] = i % 2 ? "eu" : "us";
  return user;
}

struct Fixture {
  std::string dir;
  std::unique_ptr<Store> store;
  std::vector<std::string> shuffled_ids;
};

Fixture& Shared() {
  static Fixture* fixture = [] {
    auto* f = new Fixture;
    const char* tmp = std::getenv("TEST_TMPDIR");
    std::string templ = absl::StrCat(tmp != nullptr ? tmp : "/tmp",
                                     "/directory_benchmark.XXXXXX");
    if (mkdtemp(templ.data()) == nullptr) std::abort();
    f->dir = templ;
    auto store = Store::Open({f->dir, /*sync_writes=*/true});
    if (!store.ok()) {
      std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
      std::abort();
    }
    f->store = *std::move(store);
    f->shuffled_ids.reserve(kUsers);
    for (int i = 0; i < kUsers; ++i) f->shuffled_ids.push_back(UserId(i));
    std::shuffle(f->shuffled_ids.begin(), f->shuffled_ids.end(),
                 std::mt19937_64(42));
    return f;
  }();
  return *fixture;
}

// Imports 1,000,000 users in synced batches of 1,000 (runs once).
void BM_Import(benchmark::State& state) {
  Fixture& f = Shared();
  const double rss_before = RssMiB();
  for (auto _ : state) {
    std::vector<v1::User> batch;
    batch.reserve(kImportBatch);
    for (int i = 0; i < kUsers; i += kImportBatch) {
      batch.clear();
      for (int j = i; j < i + kImportBatch; ++j) batch.push_back(MakeUser(j));
      if (!f.store->UpsertUsers(batch).ok()) std::abort();
    }
  }
  state.SetItemsProcessed(state.iterations() * kUsers);
  state.counters["rss_before_MiB"] = rss_before;
  state.counters["rss_after_MiB"] = RssMiB();
  state.counters["users"] = static_cast<double>(f.store->UserCount());
}
BENCHMARK(BM_Import)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

// Each lookup misses the cache and reads RocksDB: a fresh directory, every
// id looked up once, in random order.
void BM_ColdLookup(benchmark::State& state) {
  Fixture& f = Shared();
  auto directory = std::make_unique<UserDirectory>(*f.store);
  size_t next = 0;
  for (auto _ : state) {
    if (next == f.shuffled_ids.size()) {
      state.PauseTiming();
      directory = std::make_unique<UserDirectory>(*f.store);
      next = 0;
      state.ResumeTiming();
    }
    std::shared_ptr<const v1::User> user = directory->Find(f.shuffled_ids[next++]);
    if (user == nullptr) state.SkipWithError("user not found");
    benchmark::DoNotOptimize(user);
  }
  state.counters["rss_MiB"] = RssMiB();
}
BENCHMARK(BM_ColdLookup)->Unit(benchmark::kMicrosecond);

UserDirectory& WarmDirectory() {
  static UserDirectory* directory = [] {
    Fixture& f = Shared();
    auto* d = new UserDirectory(*f.store);
    for (const std::string& id : f.shuffled_ids) {
      if (d->Find(id) == nullptr) std::abort();
    }
    return d;
  }();
  return *directory;
}

// Every lookup hits the cache, which holds all 1,000,000 users; ids are
// drawn uniformly from the first state.range(0) of the shuffled ids (all of
// them: memory-bound; 10,000: the hot set of a real deployment).
void BM_WarmLookup(benchmark::State& state) {
  Fixture& f = Shared();
  UserDirectory& directory = WarmDirectory();
  std::mt19937 rng(7 + state.thread_index());
  std::uniform_int_distribution<size_t> pick(0, state.range(0) - 1);
  for (auto _ : state) {
    std::shared_ptr<const v1::User> user =
        directory.Find(f.shuffled_ids[pick(rng)]);
    benchmark::DoNotOptimize(user);
  }
  state.counters["rss_MiB"] =
      benchmark::Counter(RssMiB(), benchmark::Counter::kAvgThreads);
}
BENCHMARK(BM_WarmLookup)
    ->Unit(benchmark::kNanosecond)
    ->Arg(kUsers)
    ->Arg(10000)
    ->Threads(1)
    ->Threads(2);

// Every lookup hits the cache, which holds only the 10,000 ids looked up
// (a directory whose cache holds just the hot set).
void BM_WarmLookupSmallCache(benchmark::State& state) {
  Fixture& f = Shared();
  constexpr size_t kHot = 10000;
  // Copies: the ids' bytes close together, as in a request buffer.
  const std::vector<std::string> hot(f.shuffled_ids.begin(),
                                     f.shuffled_ids.begin() + kHot);
  UserDirectory directory(*f.store);
  for (const std::string& id : hot) {
    if (directory.Find(id) == nullptr) std::abort();
  }
  std::mt19937 rng(7);
  std::uniform_int_distribution<size_t> pick(0, kHot - 1);
  for (auto _ : state) {
    std::shared_ptr<const v1::User> user = directory.Find(hot[pick(rng)]);
    benchmark::DoNotOptimize(user);
  }
}
BENCHMARK(BM_WarmLookupSmallCache)->Unit(benchmark::kNanosecond);

}  // namespace
}  // namespace pdp::cache

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (std::getenv("DEADLOCK_DETECTION") == nullptr) {
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  }
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  auto& f = pdp::cache::Shared();
  const std::string dir = f.dir;
  f.store.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}
