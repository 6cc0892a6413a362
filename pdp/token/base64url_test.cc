#include "pdp/token/base64url.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pdp {
namespace token {
namespace {

using ::testing::HasSubstr;

TEST(Base64UrlTest, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},
      {"f", "Zg"},
      {"fo", "Zm8"},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg"},
      {"fooba", "Zm9vYmE"},
      {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64UrlEncode(plain), encoded);
    absl::StatusOr<std::string> decoded = Base64UrlDecode(encoded);
    ASSERT_TRUE(decoded.ok()) << encoded;
    EXPECT_EQ(*decoded, plain);
  }
}

TEST(Base64UrlTest, UsesTheUrlAlphabet) {
  // 0xfb 0xff encodes to "-_8" in base64url ("+/8=" in base64).
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(*Base64UrlDecode("-_8"), "\xfb\xff");
}

TEST(Base64UrlTest, RoundTripsEveryLengthAndByte) {
  std::string data;
  for (int i = 0; i < 300; ++i) {
    data.push_back(static_cast<char>(i * 37 + 11));
    absl::StatusOr<std::string> decoded =
        Base64UrlDecode(Base64UrlEncode(data));
    ASSERT_TRUE(decoded.ok()) << i;
    ASSERT_EQ(*decoded, data);
  }
}

TEST(Base64UrlTest, RefusesAnythingButStrictBase64Url) {
  for (const char* bad : {
           "Zg==",          // Padding.
           "Zm9v=",         // Padding.
           "+/8",           // The standard alphabet.
           "Zm 9v",         // Whitespace.
           "Zm9v\n",        // A newline.
           " Zm9v",         // Leading space.
           "Zm9vY",         // Length % 4 == 1.
           "Z",             // Length % 4 == 1.
           "Zh",            // Non-zero unused bits ("f" is "Zg").
           "Zm9",           // Non-zero unused bits ("fo" is "Zm8").
           "Zm9v\xc3\xa9",  // Non-ASCII.
           "Zm9v.",         // A dot.
       }) {
    absl::StatusOr<std::string> decoded = Base64UrlDecode(bad);
    EXPECT_FALSE(decoded.ok()) << bad;
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(decoded.status().message(), HasSubstr("not base64url"));
  }
  EXPECT_FALSE(Base64UrlDecode(absl::string_view("Zm9v\0AAA", 8)).ok());
}

TEST(Base64UrlTest, EveryByteStringHasOneEncoding) {
  // Changing any single character of an encoding either fails to decode or
  // decodes to different bytes.
  const std::string data = "\x01\x02\x03\xfe\xff";
  const std::string encoded = Base64UrlEncode(data);
  for (size_t i = 0; i < encoded.size(); ++i) {
    for (int c = 0; c < 256; ++c) {
      if (static_cast<char>(c) == encoded[i]) continue;
      std::string changed = encoded;
      changed[i] = static_cast<char>(c);
      absl::StatusOr<std::string> decoded = Base64UrlDecode(changed);
      if (decoded.ok()) {
        EXPECT_NE(*decoded, data) << changed;
      }
    }
  }
}

}  // namespace
}  // namespace token
}  // namespace pdp
