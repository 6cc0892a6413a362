#ifndef TOOLS_PDP_BENCH_REQUEST_MIX_H_
#define TOOLS_PDP_BENCH_REQUEST_MIX_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "pdp/snapshot.h"
#include "pdp/v1/authorizer.pb.h"
#include "tools/pdp_bench/options.h"

namespace pdp_bench {

// How requests are drawn.
struct RequestMixOptions {
  Mix mix = Mix::kCheck;
  // Checks per BatchCheck (Mix::kBatch).
  int batch_size = 10;
  // When non-empty, every FilterTools asks for this server's tools.
  std::string filter_server;
  // The same seed over the same policy draws the same requests.
  uint64_t seed = 1;
  // Operations drawn; the load cycles through them.
  int pool_size = 4096;
};

// One call to make: `kind` says which request field is used.
struct Operation {
  enum class Kind { kCheck, kFilter, kBatch };
  Kind kind = Kind::kCheck;
  pdp::v1::CheckRequest check;
  pdp::v1::FilterToolsRequest filter;
  pdp::v1::BatchCheckRequest batch;
};

// A fixed pool of Authorizer requests drawn from a compiled policy, made
// before a run so that drawing costs nothing during it:
// - delegated chains: a policy user and a policy client, the token granted
//   the client's whole scope ceiling, an amr set among none, pwd, pwd+otp
//   and hwk; half through a random agent; some autonomous (30% with an
//   agent, 5% without). A policy without users gets synthetic users
//   ("bench-user-N@bench.invalid") asserting one policy role each;
// - service chains (15% when the policy has services, all when it has no
//   clients), always autonomous;
// - Check: a tool drawn from all tools, `call` 80%, `see` 20%;
// - FilterTools: a server drawn from all servers, or --filter-server;
// - BatchCheck: batch_size such checks; mixed: 20% FilterTools.
// Every chain passes pdp::ValidateChain. Immutable after Draw(), so
// thread-safe.
class RequestMix {
 public:
  // Returns FailedPrecondition when the policy has no tools, or neither
  // clients nor services; NotFound when filter_server is not one of the
  // policy's servers.
  static absl::StatusOr<RequestMix> Draw(const pdp::Snapshot& snapshot,
                                         const RequestMixOptions& options);

  // Never empty.
  size_t size() const { return operations_.size(); }
  // The i-th operation, cycling: operation(size()) is operation(0).
  const Operation& operation(size_t i) const {
    return operations_[i % operations_.size()];
  }
  // One line: what the pool was drawn from.
  const std::string& description() const { return description_; }

 private:
  RequestMix() = default;

  std::vector<Operation> operations_;
  std::string description_;
};

}  // namespace pdp_bench

#endif  // TOOLS_PDP_BENCH_REQUEST_MIX_H_
