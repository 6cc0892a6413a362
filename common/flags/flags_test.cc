#include "common/flags/flags.h"

#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace common {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

const std::vector<FlagSpec> kSpecs = {
    {"out", FlagSpec::Kind::kValue, "DIR"},
    {"json", FlagSpec::Kind::kBool},
};

std::string Kind(const FlagProblem& problem) {
  return std::to_string(static_cast<int>(problem.kind)) + " " + problem.name;
}

TEST(FlagDialectTest, StrictDialectRefusesArgumentsAndRepeats) {
  const FlagDialect strict = StrictDialect();
  auto problem = [&](std::vector<std::string> argv) {
    return std::string(ParseArgs(argv, kSpecs, strict, Kind).status().message());
  };
  EXPECT_EQ(problem({"x"}), "2 x");
  EXPECT_EQ(problem({"--"}), "2 --");
  EXPECT_EQ(problem({"--json", "--json"}), "6 json");
  EXPECT_EQ(problem({"--json=1"}), "5 json");
}

TEST(FlagDialectTest, LenientDialectKeepsEveryValueInOrder) {
  FlagDialect lenient = SequentialDialect();
  lenient.bool_values = true;
  absl::StatusOr<Args> args = ParseArgs(
      {"--out", "--a", "--json=false", "--out="}, kSpecs, lenient);
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_THAT(args->in_order(),
              ElementsAre(Pair("out", "--a"), Pair("json", "false"),
                          Pair("out", "")));
}

}  // namespace
}  // namespace common
