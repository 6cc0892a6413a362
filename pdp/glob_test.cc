#include "pdp/glob.h"

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

TEST(GlobTest, IsGlob) {
  EXPECT_TRUE(IsGlob("crm.*"));
  EXPECT_TRUE(IsGlob("crm.?"));
  EXPECT_FALSE(IsGlob("crm.search"));
}

}  // namespace
}  // namespace pdp
