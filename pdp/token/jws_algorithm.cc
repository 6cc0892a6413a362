#include "pdp/token/jws_algorithm.h"

namespace pdp {
namespace token {

absl::string_view JwsAlgorithmName(JwsAlgorithm algorithm) {
  switch (algorithm) {
    case JwsAlgorithm::kRs256:
      return "RS256";
    case JwsAlgorithm::kPs256:
      return "PS256";
    case JwsAlgorithm::kEs256:
      return "ES256";
    case JwsAlgorithm::kEdDsa:
      return "EdDSA";
  }
  return "?";
}

std::optional<JwsAlgorithm> ParseJwsAlgorithm(absl::string_view name) {
  for (JwsAlgorithm algorithm : {JwsAlgorithm::kRs256, JwsAlgorithm::kPs256,
                                 JwsAlgorithm::kEs256, JwsAlgorithm::kEdDsa}) {
    if (name == JwsAlgorithmName(algorithm)) return algorithm;
  }
  return std::nullopt;
}

}  // namespace token
}  // namespace pdp
