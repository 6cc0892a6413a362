#ifndef PDP_TESTING_STATUS_MATCHERS_H_
#define PDP_TESTING_STATUS_MATCHERS_H_

// Assertions and matchers for absl::Status and absl::StatusOr, in the shape
// of absl's own (absl/status/status_matchers.h, which Debian 12's Abseil
// predates):
//
//   ASSERT_OK(status_or_statusor);
//   ASSERT_OK_AND_ASSIGN(std::shared_ptr<const Snapshot> s, Compile(...));
//   EXPECT_THAT(Check(...), StatusIs(absl::StatusCode::kInvalidArgument,
//                                    HasSubstr("tool_id")));

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

// Named like absl_testing, so that it never hides ::testing in namespace pdp.
namespace pdp_testing {
namespace internal {

inline const absl::Status& GetStatus(const absl::Status& status) {
  return status;
}
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

}  // namespace internal

MATCHER(IsOk, negation ? "is not OK" : "is OK") {
  const absl::Status& status = internal::GetStatus(arg);
  if (!status.ok()) *result_listener << "whose status is " << status;
  return status.ok();
}

MATCHER_P2(StatusIs, code, message_matcher,
           "has code " + ::testing::PrintToString(code) +
               " and a message that " +
               ::testing::DescribeMatcher<std::string>(message_matcher,
                                                       negation)) {
  const absl::Status& status = internal::GetStatus(arg);
  *result_listener << "whose status is " << status;
  return status.code() == code &&
         ::testing::Matches(message_matcher)(std::string(status.message()));
}

template <typename Code>
auto StatusIs(Code code) {
  return StatusIs(code, ::testing::_);
}

}  // namespace pdp_testing

#define PDP_TESTING_CONCAT_INNER_(a, b) a##b
#define PDP_TESTING_CONCAT_(a, b) PDP_TESTING_CONCAT_INNER_(a, b)

#define ASSERT_OK(expr) ASSERT_THAT(expr, ::pdp_testing::IsOk())
#define EXPECT_OK(expr) EXPECT_THAT(expr, ::pdp_testing::IsOk())

// Evaluates `rexpr` (an absl::StatusOr), asserts it is OK and moves its value
// into `lhs`, which may declare a variable.
#define ASSERT_OK_AND_ASSIGN(lhs, rexpr) \
  PDP_TESTING_ASSERT_OK_AND_ASSIGN_(     \
      PDP_TESTING_CONCAT_(pdp_testing_status_or_, __LINE__), lhs, rexpr)
#define PDP_TESTING_ASSERT_OK_AND_ASSIGN_(status_or, lhs, rexpr) \
  auto status_or = (rexpr);                                      \
  ASSERT_TRUE(status_or.ok()) << status_or.status();             \
  lhs = std::move(status_or).value()

#endif  // PDP_TESTING_STATUS_MATCHERS_H_
