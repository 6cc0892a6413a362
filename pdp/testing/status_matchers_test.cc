#include "pdp/testing/status_matchers.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pdp/testing/compile.h"

namespace pdp {
namespace {

using ::pdp_testing::IsOk;
using ::pdp_testing::StatusIs;
using testgen::CompileYaml;

using ::testing::HasSubstr;
using ::testing::Not;

TEST(StatusMatchersTest, IsOkAndStatusIs) {
  EXPECT_THAT(absl::OkStatus(), IsOk());
  EXPECT_THAT(absl::StatusOr<int>(3), IsOk());
  EXPECT_THAT(absl::NotFoundError("x"), Not(IsOk()));
  EXPECT_THAT(absl::StatusOr<int>(absl::InvalidArgumentError("bad tool_id")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tool_id")));
  EXPECT_THAT(absl::NotFoundError("x"),
              Not(StatusIs(absl::StatusCode::kInvalidArgument)));
  EXPECT_THAT(absl::NotFoundError("x"),
              Not(StatusIs(absl::StatusCode::kNotFound, "y")));
}

TEST(StatusMatchersTest, AssertOkAndAssignDeclaresAndMoves) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<int> p,
                       absl::StatusOr<std::unique_ptr<int>>(
                           std::make_unique<int>(7)));
  EXPECT_EQ(*p, 7);
  int n = 0;
  ASSERT_OK_AND_ASSIGN(n, absl::StatusOr<int>(5));
  EXPECT_EQ(n, 5);
}

TEST(CompileYamlTest, CompilesInlineFilesAsOnePolicy) {
  ASSERT_OK_AND_ASSIGN(
      std::shared_ptr<const Snapshot> snapshot,
      CompileYaml({{"tools.yaml", "tools:\n  - id: crm.search\n"},
                   {"roles.yaml", "roles:\n  - id: sales\n    tools: [crm.search]\n"}}));
  EXPECT_GE(snapshot->FindRole("sales"), 0);
  EXPECT_THAT(CompileYaml("roles:\n  - id: r\n    tools: [nope]\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "policy.yaml:3: role \"r\": \"nope\" in \"tools\" matches "
                       "no tool"));
  EXPECT_THAT(CompileYaml("tools: [\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("policy.yaml:2: malformed YAML")));
}

}  // namespace
}  // namespace pdp
