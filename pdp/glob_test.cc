#include "pdp/glob.h"

#include <cstdint>
#include <string>

#include "gtest/gtest.h"

namespace pdp {
namespace {

TEST(GlobTest, Matches) {
  EXPECT_TRUE(GlobMatch("crm.*", "crm.search_contacts"));
  EXPECT_TRUE(GlobMatch("*", "anything.at_all"));
  EXPECT_TRUE(GlobMatch("crm.search_contacts", "crm.search_contacts"));
  EXPECT_TRUE(GlobMatch("*.get_*", "hr.get_salary"));
  EXPECT_TRUE(GlobMatch("hr.get_?alary", "hr.get_salary"));
  EXPECT_TRUE(GlobMatch("a*b*c", "aXXbYYbZc"));
  EXPECT_TRUE(GlobMatch("crm.**", "crm."));
}

TEST(GlobTest, DoesNotMatch) {
  EXPECT_FALSE(GlobMatch("crm.*", "crmx.search"));
  EXPECT_FALSE(GlobMatch("crm.*", "hr.crm.x"));
  EXPECT_FALSE(GlobMatch("crm.search", "crm.search_contacts"));
  EXPECT_FALSE(GlobMatch("hr.get_?alary", "hr.get_alary"));
  EXPECT_FALSE(GlobMatch("a*b*c", "aXXbYYbZ"));
  EXPECT_FALSE(GlobMatch("", "x"));
  EXPECT_TRUE(GlobMatch("", ""));
}

TEST(GlobTest, WildcardsInTheMiddle) {
  EXPECT_TRUE(GlobMatch("*a?c*", "xxabcxx"));
  EXPECT_TRUE(GlobMatch("*a?c*", "abc"));
  EXPECT_FALSE(GlobMatch("*a?c*", "xxacxx"));
  EXPECT_TRUE(GlobMatch("x*ab*ab*y", "xabababy"));
  EXPECT_FALSE(GlobMatch("x*ab*ab*y", "xabay"));
  EXPECT_TRUE(GlobMatch("a*aab", "aaaab"));  // KMP border restarts.
  EXPECT_TRUE(GlobMatch("*abcabd*", "abcabcabd"));
  EXPECT_FALSE(GlobMatch("ab*ba", "aba"));  // first and last may not overlap.
  EXPECT_TRUE(GlobMatch("ab*ba", "abba"));
  EXPECT_TRUE(GlobMatch("?*?", "ab"));
  EXPECT_FALSE(GlobMatch("?*?", "a"));
}

// A segment of '?'s and letters longer than one machine word.
TEST(GlobTest, LongWildcardSegments) {
  std::string segment;
  for (int i = 0; i < 150; ++i) segment += (i % 7 == 0) ? '?' : 'a' + i % 5;
  std::string text = "zz";
  for (int i = 0; i < 150; ++i) text += 'a' + i % 5;
  text += "zz";
  EXPECT_TRUE(GlobMatch("*" + segment + "*", text));
  text[2 + 78] = 'q';  // Segment position 78 is a letter, not a '?'.
  EXPECT_FALSE(GlobMatch("*" + segment + "*", text));
  text[2 + 77] = 'q';
  text[2 + 78] = 'a' + 78 % 5;  // Position 77 is a '?'.
  EXPECT_TRUE(GlobMatch("*" + segment + "*", text));
}

// Agrees with a plain recursive matcher on every glob and text over a small
// alphabet.
bool Reference(absl::string_view g, absl::string_view t) {
  if (g.empty()) return t.empty();
  if (g[0] == '*') {
    for (size_t i = 0; i <= t.size(); ++i) {
      if (Reference(g.substr(1), t.substr(i))) return true;
    }
    return false;
  }
  return !t.empty() && (g[0] == '?' || g[0] == t[0]) &&
         Reference(g.substr(1), t.substr(1));
}

TEST(GlobTest, AgreesWithAReferenceMatcher) {
  const char alphabet[] = {'a', 'b', '*', '?'};
  uint32_t seed = 12345;
  auto next = [&seed] { return (seed = seed * 1103515245 + 12345) >> 16; };
  for (int round = 0; round < 20000; ++round) {
    std::string glob, text;
    for (int i = next() % 8; i > 0; --i) glob += alphabet[next() % 4];
    for (int i = next() % 10; i > 0; --i) text += alphabet[next() % 2];
    ASSERT_EQ(GlobMatch(glob, text), Reference(glob, text))
        << "glob " << glob << " text " << text;
  }
}

// Adversarial globs cost time linear in the glob and the id. Backtracking
// rescans the literal after '*' from every position (O(|glob| * |id|) per
// match: 5,000 calls of 3.6 * 10^7 steps here, minutes, past this test's
// timeout); now each call is a single pass.
TEST(GlobTest, PathologicalGlobsAreLinear) {
  const std::string text(20000, 'a');
  const std::string literal = "*" + std::string(2000, 'a') + "b";
  for (int i = 0; i < 5000; ++i) ASSERT_FALSE(GlobMatch(literal, text));
  std::string wildcards = "*";
  for (int i = 0; i < 1000; ++i) wildcards += "a?";
  wildcards += "b*";
  for (int i = 0; i < 100; ++i) ASSERT_FALSE(GlobMatch(wildcards, text));
}

TEST(GlobTest, IsGlob) {
  EXPECT_TRUE(IsGlob("crm.*"));
  EXPECT_TRUE(IsGlob("crm.?"));
  EXPECT_FALSE(IsGlob("crm.search"));
}

}  // namespace
}  // namespace pdp
