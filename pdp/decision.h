#ifndef PDP_DECISION_H_
#define PDP_DECISION_H_

#include <string>
#include <vector>

#include "pdp/snapshot.h"
#include "pdp/v1/authorizer.pb.h"
#include "pdp/v1/policy.pb.h"

namespace pdp {

// Why a decision is what it is: one failing link, or what a call still needs.
struct Reason {
  v1::Link link = v1::LINK_UNSPECIFIED;
  v1::Reason::Code code = v1::Reason::CODE_UNSPECIFIED;
  std::string message;  // A human sentence.
  std::vector<std::string> missing_scopes;  // For MISSING_SCOPE.
  std::string rule_id;                      // For RULE.
};

// The answer to one check. DENY is a result, not an error.
struct Decision {
  v1::Effect effect = v1::EFFECT_DENY;
  // For DENY, every failing link; for STEP_UP, the step-up; for
  // REQUIRE_APPROVAL, what needs approval; empty for ALLOW.
  std::vector<Reason> reasons;
  // Obligation: data classes to redact (Snapshot::DataClassNames names them).
  DataMask redact = 0;
  // For STEP_UP: the strength required. UNSPECIFIED otherwise.
  v1::AuthStrength step_up = v1::AUTH_STRENGTH_UNSPECIFIED;
};

// A tool a chain may see, with what a call would still need.
struct VisibleTool {
  int tool = 0;  // Index into Snapshot::tools().
  bool requires_approval = false;
  v1::AuthStrength step_up = v1::AUTH_STRENGTH_UNSPECIFIED;  // When needed.
  DataMask redact = 0;
};

}  // namespace pdp

#endif  // PDP_DECISION_H_
