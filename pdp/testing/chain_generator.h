#ifndef PDP_TESTING_CHAIN_GENERATOR_H_
#define PDP_TESTING_CHAIN_GENERATOR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "pdp/request.h"
#include "pdp/snapshot.h"
#include "pdp/testing/rng.h"

namespace pdp {
namespace testgen {

// Probabilities of each kind of chain and request. Every field is in [0, 1].
struct ChainGeneratorOptions {
  // The same seed over the same snapshot gives the same sequence.
  uint64_t seed = 1;
  // A service chain instead of a delegated one.
  double service_chain = 0.12;
  // Each id (user, client, agent, service, tool) is one the policy lacks.
  double unknown_id = 0.05;
  // A delegated chain has an agent.
  double with_agent = 0.4;
  // An agent acts for 1-3 more agents (a delegation).
  double delegation = 0.2;
  // A delegated chain asserts roles instead of using the policy's users.
  double asserted_roles = 0.1;
  // No human in the loop.
  double autonomous = 0.35;
  // NextRequest() picks a tool the chain's user is granted (when known),
  // rather than any tool, so that ALLOW and its variants are common.
  double granted_tool = 0.6;
};

// Generates random, mostly valid identity chains and requests over a compiled
// policy, for property tests and benchmarks: ids the policy knows, sometimes
// unknown ones, token scopes mostly within the client's registered ones,
// assorted RFC 8176 `amr` values, agents, services and autonomous calls.
// Thread-compatible. The snapshot must outlive the generator.
class ChainGenerator {
 public:
  explicit ChainGenerator(const Snapshot& snapshot,
                          const ChainGeneratorOptions& options = {});

  // A well-formed chain: a delegated one (user, client, optional agent) or a
  // service alone; ValidateChain() accepts it.
  Chain NextChain();

  // A chain every API must refuse with InvalidArgument: a service with user,
  // client, agent, amr or roles, or a delegated chain lacking its user or
  // client.
  Chain NextMalformedChain();

  // A non-empty tool id: mostly one of the policy's, sometimes not.
  std::string NextToolId();

  // A well-formed selection: one server (sometimes unknown) or a list of
  // tool ids (some unknown, some repeated).
  ToolSelection NextSelection();

  // A request with a well-formed chain, a non-empty tool id and either
  // action.
  Request NextRequest();

  Rng& rng() { return rng_; }

 private:
  std::string UnknownId(const char* kind);
  // A tool the chain's user or service is granted, or "" if none.
  std::string GrantedTool(const Chain& chain);

  const Snapshot& s_;
  const ChainGeneratorOptions options_;
  Rng rng_;
  uint64_t counter_ = 0;
};

}  // namespace testgen
}  // namespace pdp

#endif  // PDP_TESTING_CHAIN_GENERATOR_H_
