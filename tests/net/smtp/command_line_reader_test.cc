// CommandLineReader: lines as views, lines split across calls, the length bound, skipping.
#include "net/smtp/command_line_reader.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace tern::net::smtp {
namespace {

// Feeds `input` in pieces of `piece` bytes; returns the lines, "<too long>" for each
// overlong one.
std::vector<std::string> Lines(const std::string& input, size_t piece) {
  CommandLineReader reader;
  std::vector<std::string> out;
  for (size_t start = 0; start < input.size(); start += piece) {
    absl::string_view in = absl::string_view(input).substr(start, piece);
    while (!in.empty()) {
      size_t used = 0;
      const CommandLineResult result = reader.Consume(in, &used);
      EXPECT_GT(used, 0u);
      EXPECT_LE(used, in.size());
      in.remove_prefix(used);
      if (result == CommandLineResult::kLine) out.emplace_back(reader.line());
      if (result == CommandLineResult::kTooLong) out.emplace_back("<too long>");
    }
  }
  return out;
}

TEST(CommandLineReaderTest, EverySplitGivesTheSameLines) {
  const std::string longest = "NOOP " + std::string(kCommandLineBytesMax - 7, 'x');  // + CRLF
  const std::string input = "EHLO a\r\nMAIL FROM:<x@y>\r\n" + longest + "\r\n" + "NOOP " +
                            std::string(kCommandLineBytesMax, 'z') + "\r\nbare\nQUIT\r\n";
  const std::vector<std::string> want = {
      "EHLO a\r", "MAIL FROM:<x@y>\r", longest + "\r", "<too long>", "bare", "QUIT\r"};
  for (size_t piece = 1; piece <= input.size(); ++piece) {
    ASSERT_EQ(Lines(input, piece), want) << piece;
  }
}

TEST(CommandLineReaderTest, LineInOneCallIsAViewOfTheInput) {
  CommandLineReader reader;
  const std::string input = "RSET\r\nNOOP\r\n";
  size_t used = 0;
  ASSERT_EQ(reader.Consume(input, &used), CommandLineResult::kLine);
  EXPECT_EQ(used, 6u);
  EXPECT_EQ(reader.line().data(), input.data());  // not copied
}

TEST(CommandLineReaderTest, OverlongLineIsReportedOnceAtItsEnd) {
  CommandLineReader reader;
  size_t used = 0;
  const std::string chunk(300, 'a');
  EXPECT_EQ(reader.Consume(chunk, &used), CommandLineResult::kNeedMore);
  EXPECT_EQ(reader.Consume(chunk, &used), CommandLineResult::kNeedMore);  // now skipping
  EXPECT_EQ(reader.Consume(chunk, &used), CommandLineResult::kNeedMore);
  EXPECT_EQ(reader.Consume("tail\r\nNOOP\r\n", &used), CommandLineResult::kTooLong);
  EXPECT_EQ(used, 6u);
  EXPECT_EQ(reader.Consume("NOOP\r\n", &used), CommandLineResult::kLine);
  EXPECT_EQ(reader.line(), "NOOP\r");
}

TEST(CommandLineReaderTest, ResetForgetsAPartialLine) {
  CommandLineReader reader;
  size_t used = 0;
  EXPECT_EQ(reader.Consume("MAIL FR", &used), CommandLineResult::kNeedMore);
  reader.Reset();
  EXPECT_EQ(reader.Consume("QUIT\r\n", &used), CommandLineResult::kLine);
  EXPECT_EQ(reader.line(), "QUIT\r");
}

}  // namespace
}  // namespace tern::net::smtp
