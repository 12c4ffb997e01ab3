// Tests of DataContentReader (tools/tern_bench/sink_data_reader.h): where DATA ends and
// what the unstuffed content is, for every split of the input.
#include "tools/tern_bench/sink_data_reader.h"

#include <string>

#include "gtest/gtest.h"

namespace tern::tools::tern_bench {
namespace {

struct Read {
  std::string content;
  bool done = false;
  size_t used = 0;  // of the whole input
};

// Feeds `input` in pieces of at most `piece` bytes (0: all at once) until the end of data.
Read ReadAll(const std::string& input, size_t piece) {
  DataContentReader reader;
  Read read;
  size_t pos = 0;
  while (pos < input.size() && !reader.done()) {
    const size_t n = piece == 0 ? input.size() - pos : std::min(piece, input.size() - pos);
    read.used +=
        reader.Consume(absl::string_view(input).substr(pos, n), [&](absl::string_view run) {
          EXPECT_FALSE(run.empty());
          read.content.append(run.data(), run.size());
        });
    pos += n;
  }
  read.done = reader.done();
  EXPECT_EQ(reader.content_bytes(), read.content.size());
  return read;
}

struct Case {
  const char* name;
  std::string input;
  std::string content;
  bool done;
  size_t used;  // bytes up to and including the terminator (when done)
};

TEST(DataContentReader, EndsAndUnstuffsAsRfc5321Says) {
  const Case cases[] = {
      {"empty body", ".\r\n", "", true, 3},
      {"one line", "hello\r\n.\r\n", "hello\r\n", true, 10},
      {"stuffed dot line", "..\r\n.\r\n", ".\r\n", true, 7},
      {"stuffed text", "..dot\r\nx\r\n.\r\n", ".dot\r\nx\r\n", true, 13},
      {"unstuffed leading dot is removed", ".x\r\n.\r\n", "x\r\n", true, 7},
      {"bytes after the end are not used", "a\r\n.\r\nMAIL", "a\r\n", true, 6},
      {"bare LF does not start a line", "a\n.\r\n.\r\n", "a\n.\r\n", true, 8},
      {"bare LF dot LF", "a\n.\n\r\n.\r\n", "a\n.\n\r\n", true, 9},
      {"bare CR dot", "a\r.\r\n.\r\n", "a\r.\r\n", true, 8},
      {"dot CR without LF", "x\r\n.\rz\r\n.\r\n", "x\r\n\rz\r\n", true, 11},
      {"dot LF is not the end", "x\r\n.\n.\r\n", "x\r\n\n.\r\n", false, 8},
      {"no end yet", "abc\r\ndef", "abc\r\ndef", false, 8},
      {"blank lines", "\r\n\r\n.\r\n", "\r\n\r\n", true, 7},
  };
  for (const Case& c : cases) {
    for (size_t piece : {size_t{0}, size_t{1}, size_t{2}, size_t{3}, size_t{5}}) {
      SCOPED_TRACE(std::string(c.name) + " piece " + std::to_string(piece));
      const Read read = ReadAll(c.input, piece);
      EXPECT_EQ(read.content, c.content);
      EXPECT_EQ(read.done, c.done);
      EXPECT_EQ(read.used, c.used);
    }
  }
}

TEST(DataContentReader, AnyTwoWaySplitGivesTheSameContent) {
  const std::string input =
      "Subject: x\r\n\r\n..a\r\n.b\r\nc\n.\r\n\r.\r\n..\r\n.\rq\r\nlast\r\n.\r\nNEXT";
  const Read whole = ReadAll(input, 0);
  ASSERT_TRUE(whole.done);
  for (size_t split = 0; split <= input.size(); ++split) {
    SCOPED_TRACE(split);
    DataContentReader reader;
    std::string content;
    auto sink = [&](absl::string_view run) { content.append(run.data(), run.size()); };
    size_t used = reader.Consume(absl::string_view(input).substr(0, split), sink);
    if (!reader.done()) used += reader.Consume(absl::string_view(input).substr(split), sink);
    EXPECT_TRUE(reader.done());
    EXPECT_EQ(used, whole.used);
    EXPECT_EQ(content, whole.content);
  }
}

}  // namespace
}  // namespace tern::tools::tern_bench
