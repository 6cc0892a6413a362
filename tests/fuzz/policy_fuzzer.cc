// libFuzzer target: the open-ended version of policy_fuzz_test. Each input is
// one policy file; the loader and compiler must not crash, and every error
// must be "file:line: message" or "file: message" (tests/fuzz/fuzz_check.h).
// Not part of `bazel test //...`; build and run it with clang, instrumenting
// the engine too, in an output base of its own (so that the clang build
// neither evicts nor repoints the usual one):
//
//   OB=/tmp/pdp-fuzz; FLAGS="--symlink_prefix=/ --repo_env=CC=clang"
//   bazel --output_base=$OB build $FLAGS \
//       --copt=-fsanitize=fuzzer-no-link,address \
//       --linkopt=-fsanitize=address //tests/fuzz:policy_fuzzer
//   $(bazel --output_base=$OB info $FLAGS bazel-bin)/tests/fuzz/policy_fuzzer \
//       -max_total_time=60 CORPUS_DIR
//
// (examples/policies/acme/*.yaml make a good seed corpus.)

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const pdp::fuzz::Result result = pdp::fuzz::CheckPolicyFile(
      "fuzz.yaml",
      absl::string_view(reinterpret_cast<const char*>(data), size));
  if (!result.wellformed) {
    std::fprintf(stderr, "contract broken: %s\n", result.problem.c_str());
    std::abort();
  }
  return 0;
}
