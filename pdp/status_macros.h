#ifndef PDP_STATUS_MACROS_H_
#define PDP_STATUS_MACROS_H_

#include "pdp/internal.h"  // Private to the engine.

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Returns `expr`'s status from the enclosing function unless it is OK.
#define PDP_RETURN_IF_ERROR(expr)                         \
  do {                                                    \
    const ::absl::Status pdp_status_ = (expr);            \
    if (!pdp_status_.ok()) return pdp_status_;            \
  } while (0)

// Evaluates `rexpr` (an absl::StatusOr); returns its status unless it is OK,
// else moves its value into `lhs`, which may declare a variable.
#define PDP_ASSIGN_OR_RETURN(lhs, rexpr) \
  PDP_ASSIGN_OR_RETURN_IMPL_(            \
      PDP_STATUS_MACROS_CONCAT_(pdp_status_or_, __LINE__), lhs, rexpr)

#define PDP_ASSIGN_OR_RETURN_IMPL_(status_or, lhs, rexpr) \
  auto status_or = (rexpr);                               \
  if (!status_or.ok()) return std::move(status_or).status(); \
  lhs = std::move(status_or).value()

#define PDP_STATUS_MACROS_CONCAT_INNER_(a, b) a##b
#define PDP_STATUS_MACROS_CONCAT_(a, b) PDP_STATUS_MACROS_CONCAT_INNER_(a, b)

#endif  // PDP_STATUS_MACROS_H_
