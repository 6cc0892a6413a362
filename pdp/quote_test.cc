#include "pdp/quote.h"

#include <string>

#include "gtest/gtest.h"

namespace pdp {
namespace {

TEST(QuoteTest, PlainIdIsQuotedAsIs) {
  EXPECT_EQ(Quote("crm.search_contacts"), "\"crm.search_contacts\"");
}

TEST(QuoteTest, EscapesQuotesControlAndNonAsciiBytes) {
  EXPECT_EQ(Quote("a\"b\\c\nd\xff"), "\"a\\\"b\\\\c\\nd\\xff\"");
}

TEST(QuoteTest, LongValueIsCutAndItsSizeNamed) {
  const std::string quoted = Quote(std::string(1 << 20, 'x'));
  EXPECT_EQ(quoted, "\"" + std::string(kMaxQuotedBytes, 'x') +
                        "\"... (1048576 bytes)");
}

TEST(QuoteTest, WorstCaseIsBounded) {
  EXPECT_LE(Quote(std::string(1 << 20, '\x01')).size(),
            4 * kMaxQuotedBytes + 32);
}

}  // namespace
}  // namespace pdp
