#include "tools/pdpctl/flags.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pdpctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Kind = FlagSpec::Kind;

const std::vector<FlagSpec>& Specs() {
  static const auto* specs = new std::vector<FlagSpec>{
      {"tool", Kind::kValue, "ID", "the tool"},
      {"scopes", Kind::kList, "S,...", "scopes"},
      {"json", Kind::kBool, "", "print JSON"},
  };
  return *specs;
}

TEST(ParseArgsTest, AcceptsBothValueFormsBooleansAndPositionals) {
  absl::StatusOr<Args> args = ParseArgs(
      {"dir", "--tool", "crm.x", "--scopes=a,b", "--json", "--scopes", "c"},
      Specs());
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_EQ(args->Get("tool"), "crm.x");
  EXPECT_THAT(args->GetList("scopes"), ElementsAre("a", "b", "c"));
  EXPECT_TRUE(args->Has("json"));
  EXPECT_EQ(args->Get("json"), "true");
  EXPECT_THAT(args->positional(), ElementsAre("dir"));
}

TEST(ParseArgsTest, AbsentFlagsAreEmpty) {
  absl::StatusOr<Args> args = ParseArgs({}, Specs());
  ASSERT_TRUE(args.ok());
  EXPECT_FALSE(args->Has("tool"));
  EXPECT_EQ(args->Get("tool"), "");
  EXPECT_TRUE(args->GetList("scopes").empty());
}

TEST(ParseArgsTest, EmptyListIsGivenButHasNoItems) {
  absl::StatusOr<Args> args =
      ParseArgs({"--scopes=", "--scopes", " , x ,"}, Specs());
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_TRUE(args->Has("scopes"));
  EXPECT_THAT(args->GetList("scopes"), ElementsAre("x"));
}

TEST(ParseArgsTest, DoubleDashEndsFlags) {
  absl::StatusOr<Args> args = ParseArgs({"--json", "--", "--tool"}, Specs());
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_FALSE(args->Has("tool"));
  EXPECT_THAT(args->positional(), ElementsAre("--tool"));
}

TEST(ParseArgsTest, ValueStartingWithDashesNeedsEqualsForm) {
  absl::StatusOr<Args> args = ParseArgs({"--tool=--odd"}, Specs());
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_EQ(args->Get("tool"), "--odd");
}

TEST(ParseArgsTest, ErrorsNameTheFlag) {
  struct Case {
    std::vector<std::string> argv;
    std::string message;
  };
  const Case cases[] = {
      {{"--nope"}, "unknown flag --nope"},
      {{"--nope=1"}, "unknown flag --nope"},
      {{"-t"}, "unknown flag -t"},
      {{"--tool"}, "flag --tool needs a value: --tool ID"},
      {{"--tool", "--json"}, "flag --tool needs a value"},
      {{"--tool="}, "flag --tool needs a non-empty value"},
      {{"--tool", "a", "--tool", "b"}, "flag --tool is given more than once"},
      {{"--json=false"}, "flag --json takes no value"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Args> args = ParseArgs(c.argv, Specs());
    ASSERT_FALSE(args.ok()) << c.argv.front();
    EXPECT_EQ(args.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(args.status().message()), HasSubstr(c.message));
  }
}

TEST(FormatFlagHelpTest, AlignsOneLinePerFlag) {
  EXPECT_EQ(FormatFlagHelp(Specs()),
            "  --tool ID       the tool\n"
            "  --scopes S,...  scopes\n"
            "  --json          print JSON\n");
}

TEST(ParseArgsTest, ShortNamesAreTheLongFlag) {
  const std::vector<FlagSpec> specs = {
      {"out", Kind::kValue, "FILE", "where", 'o'},
      {"json", Kind::kBool, "", "print JSON"},
  };
  absl::StatusOr<Args> args = ParseArgs({"dir", "-o", "f.bundle"}, specs);
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_EQ(args->Get("out"), "f.bundle");
  EXPECT_THAT(args->positional(), ElementsAre("dir"));
  // Given twice, once each way: the kValue rule names the long flag.
  absl::StatusOr<Args> twice = ParseArgs({"-o", "a", "--out", "b"}, specs);
  EXPECT_THAT(twice.status().message(), HasSubstr("--out is given more"));
  EXPECT_THAT(ParseArgs({"-o"}, specs).status().message(),
              HasSubstr("--out needs a value"));
  EXPECT_THAT(ParseArgs({"-j"}, specs).status().message(),
              HasSubstr("unknown flag -j"));
  EXPECT_THAT(FormatFlagHelp(specs), HasSubstr("  -o, --out FILE  where\n"));
}

}  // namespace
}  // namespace pdpctl
