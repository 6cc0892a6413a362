#include "common/file/read_file.h"

#include <cstdlib>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace common {
namespace {

TEST(ReadFileTest, ReadsEveryByte) {
  const std::string path =
      std::string(std::getenv("TEST_TMPDIR")) + "/bytes.bin";
  const std::string bytes("a\0b\r\nc", 6);
  std::ofstream(path, std::ios::binary) << bytes;
  absl::StatusOr<std::string> read = ReadFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, bytes);
}

TEST(ReadFileTest, NamesTheFileItCannotOpen) {
  absl::StatusOr<std::string> read = ReadFile("/nonexistent/file");
  EXPECT_EQ(read.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(read.status().message(),
            "cannot read \"/nonexistent/file\": No such file or directory");
}

}  // namespace
}  // namespace common
