#ifndef PDP_TESTING_RNG_H_
#define PDP_TESTING_RNG_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pdp {
namespace testgen {

// A small seeded pseudo-random generator (SplitMix64) whose sequence is the
// same on every platform and standard library, so that generated policies and
// chains are reproducible from their seed. Thread-compatible.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  // Uniform in [0, n). REQUIRES: n > 0.
  size_t Uniform(size_t n) { return static_cast<size_t>(Next() % n); }

  // Uniform in [lo, hi]. REQUIRES: lo <= hi.
  int Range(int lo, int hi) {
    return lo + static_cast<int>(Uniform(static_cast<size_t>(hi - lo) + 1));
  }

  // True with probability `p`.
  bool Chance(double p) {
    return static_cast<double>(Next() >> 11) * (1.0 / 9007199254740992.0) < p;
  }

  // A uniformly chosen element. REQUIRES: !v.empty().
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Uniform(v.size())];
  }

 private:
  uint64_t state_;
};

}  // namespace testgen
}  // namespace pdp

#endif  // PDP_TESTING_RNG_H_
