// Tests of inject/message_lines.h: CRLF only, no NUL, 998 octets a line.
#include "inject/message_lines.h"

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace tern::inject {
namespace {

void ExpectProblem(const std::string& message, absl::string_view what) {
  const absl::Status status = CheckMessageLines(message);
  ASSERT_FALSE(status.ok());
  EXPECT_TRUE(absl::StrContains(status.message(), what)) << status.message();
}

TEST(MessageLines, CrlfTextPasses) {
  EXPECT_TRUE(CheckMessageLines("A: b\r\n\r\nbody\r\n").ok());
  EXPECT_TRUE(CheckMessageLines("").ok());
}

TEST(MessageLines, BareLfAndCrAreRefused) {
  ExpectProblem("A: b\r\n\nbody", "line 2: LF alone");
  ExpectProblem("A: b\rX", "line 1: CR without LF");
  ExpectProblem("A: b\r", "line 1: CR without LF");
}

TEST(MessageLines, NulIsRefused) { ExpectProblem(std::string("a\0b", 3), "NUL"); }

TEST(MessageLines, LineOf998PassesAnd999Fails) {
  EXPECT_TRUE(CheckMessageLines(std::string(998, 'x') + "\r\n").ok());
  ExpectProblem("ok\r\n" + std::string(999, 'x') + "\r\n", "line 2: longer than 998");
}

}  // namespace
}  // namespace tern::inject
