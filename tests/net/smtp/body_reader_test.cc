// Tests of net/smtp/body_reader.h: DATA termination, smuggling variants, BDAT stuffing, and
// DATA's content unstuffed on the fly (tern-bench's sink) at every split.
#include "net/smtp/body_reader.h"

#include <random>
#include <string>

#include "gtest/gtest.h"
#include "net/smtp/dot_stuffing.h"

namespace tern::net::smtp {
namespace {

struct DataResult {
  bool done;
  size_t used;
  std::string stored;
  BodyFlaws flaws;
};

DataResult ReadData(const std::string& input, size_t split = std::string::npos) {
  DataBodyReader reader;
  core::ByteBuffer record;
  size_t used = 0;
  if (split != std::string::npos && split < input.size()) {
    used = reader.Consume(absl::string_view(input).substr(0, split), &record);
    if (!reader.done()) used += reader.Consume(absl::string_view(input).substr(split), &record);
  } else {
    used = reader.Consume(input, &record);
  }
  return {reader.done(), used, std::string(record.view()), reader.flaws()};
}

TEST(DataBodyReader, EndsAtCrLfDotCrLfAndStoresTheRestDotStuffed) {
  const std::string input = "Subject: x\r\n\r\n..dot\r\nbody\r\n.\r\nMAIL";
  for (size_t split = 0; split <= input.size(); ++split) {
    SCOPED_TRACE(split);
    DataResult r = ReadData(input, split);
    EXPECT_TRUE(r.done);
    EXPECT_EQ(r.used, input.size() - 4);
    EXPECT_EQ(r.stored, "Subject: x\r\n\r\n..dot\r\nbody\r\n");
    EXPECT_FALSE(r.flaws.any());
  }
}

TEST(DataBodyReader, DotAtTheVeryStartEndsAnEmptyBody) {
  DataResult r = ReadData(".\r\nQUIT\r\n");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.used, 3u);
  EXPECT_EQ(r.stored, "");
}

TEST(DataBodyReader, SmugglingVariantsDoNotEndData) {
  for (const char* variant : {"\n.\r\n", "\r.\r\n", "\n.\n", "\r\n.\n", "\r\n.\r", "\r.\r", "\n.\r",
                              "\r\n.\rX\r\n", ".\n"}) {
    SCOPED_TRACE(testing::PrintToString(std::string(variant)));
    const std::string input = std::string("a") + variant + "MAIL FROM:<x@y>\r\n";
    for (size_t split = 0; split <= input.size(); ++split) {
      DataResult r = ReadData(input, split);
      EXPECT_FALSE(r.done);
      EXPECT_EQ(r.used, input.size());
      EXPECT_TRUE(r.flaws.bare_cr_or_lf);
    }
  }
}

TEST(DataBodyReader, NulAndLongLines) {
  EXPECT_TRUE(ReadData(std::string("a\0b\r\n.\r\n", 8)).flaws.nul);
  const std::string ok_line = std::string(998, 'x') + "\r\n";
  const std::string long_line = std::string(999, 'x') + "\r\n";
  EXPECT_FALSE(ReadData(ok_line + ".\r\n").flaws.line_too_long);
  EXPECT_TRUE(ReadData(long_line + ".\r\n").flaws.line_too_long);
  const std::string dot_line = "." + std::string(997, 'x') + "\r\n";
  EXPECT_FALSE(ReadData(dot_line + ".\r\n").flaws.line_too_long);
  EXPECT_TRUE(ReadData("." + dot_line + ".\r\n").flaws.line_too_long);
}

std::string ReadChunks(const std::vector<std::string>& chunks, BodyFlaws* flaws = nullptr) {
  ChunkBodyReader reader;
  core::ByteBuffer record;
  for (const std::string& chunk : chunks) reader.Consume(chunk, &record);
  reader.Finish(&record);
  if (flaws != nullptr) *flaws = reader.flaws();
  EXPECT_EQ(reader.bytes_stored(), record.size());
  return std::string(record.view());
}

struct UnstuffedRead {
  std::string content;
  bool done = false;
  size_t used = 0;  // of the whole input
};

// Feeds `input` to ConsumeUnstuffed in pieces of at most `piece` bytes (0: all at once)
// until the end of data.
UnstuffedRead ReadUnstuffed(const std::string& input, size_t piece) {
  DataBodyReader reader;
  UnstuffedRead read;
  size_t pos = 0;
  while (pos < input.size() && !reader.done()) {
    const size_t n = piece == 0 ? input.size() - pos : std::min(piece, input.size() - pos);
    read.used += reader.ConsumeUnstuffed(absl::string_view(input).substr(pos, n),
                                         [&](absl::string_view run) {
                                           EXPECT_FALSE(run.empty());
                                           read.content.append(run.data(), run.size());
                                         });
    pos += n;
  }
  read.done = reader.done();
  return read;
}

struct UnstuffedCase {
  const char* name;
  std::string input;
  std::string content;
  bool done;
  size_t used;  // bytes up to and including the terminator (when done)
};

TEST(DataBodyReader, UnstuffedContentEndsAndUnstuffsAsRfc5321Says) {
  const UnstuffedCase cases[] = {
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
  for (const UnstuffedCase& c : cases) {
    for (size_t piece : {size_t{0}, size_t{1}, size_t{2}, size_t{3}, size_t{5}}) {
      SCOPED_TRACE(std::string(c.name) + " piece " + std::to_string(piece));
      const UnstuffedRead read = ReadUnstuffed(c.input, piece);
      EXPECT_EQ(read.content, c.content);
      EXPECT_EQ(read.done, c.done);
      EXPECT_EQ(read.used, c.used);
    }
  }
}

TEST(DataBodyReader, UnstuffedContentIsTheSameAtAnyTwoWaySplit) {
  const std::string input =
      "Subject: x\r\n\r\n..a\r\n.b\r\nc\n.\r\n\r.\r\n..\r\n.\rq\r\nlast\r\n.\r\nNEXT";
  const UnstuffedRead whole = ReadUnstuffed(input, 0);
  ASSERT_TRUE(whole.done);
  for (size_t split = 0; split <= input.size(); ++split) {
    SCOPED_TRACE(split);
    DataBodyReader reader;
    std::string content;
    auto sink = [&](absl::string_view run) { content.append(run.data(), run.size()); };
    size_t used = reader.ConsumeUnstuffed(absl::string_view(input).substr(0, split), sink);
    if (!reader.done()) {
      used += reader.ConsumeUnstuffed(absl::string_view(input).substr(split), sink);
    }
    EXPECT_TRUE(reader.done());
    EXPECT_EQ(used, whole.used);
    EXPECT_EQ(content, whole.content);
  }
}

// The two ways of reading DATA frame it alike: where it ends, and the unstuffed content is
// the stored (stuffed) body unstuffed. Random bodies over the bytes that matter.
TEST(DataBodyReader, UnstuffedAndStoredReadsAgreeOnRandomBodies) {
  std::mt19937 random(17);
  const char alphabet[] = {'.', '\r', '\n', 'a'};
  for (int round = 0; round < 2000; ++round) {
    std::string input;
    const size_t size = random() % 40;
    for (size_t i = 0; i < size; ++i) input.push_back(alphabet[random() % 4]);
    input += "\r\n.\r\nNEXT";
    SCOPED_TRACE(input);
    const DataResult stored = ReadData(input);
    const UnstuffedRead unstuffed = ReadUnstuffed(input, 1 + random() % 4);
    EXPECT_EQ(unstuffed.done, stored.done);
    EXPECT_EQ(unstuffed.used, stored.used);
    if (stored.done) EXPECT_EQ(unstuffed.content, Unstuffed(stored.stored));
  }
}

TEST(ChunkBodyReader, StuffsLeadingDotsAcrossChunks) {
  EXPECT_EQ(ReadChunks({".a\r\n.", "b\r\n", ".\r\n"}), "..a\r\n..b\r\n..\r\n");
  EXPECT_EQ(ReadChunks({"x\r", "\n.y\r\n"}), "x\r\n..y\r\n");
  EXPECT_EQ(ReadChunks({"a.b\r\n"}), "a.b\r\n");
}

TEST(ChunkBodyReader, AppendsMissingFinalCrLf) {
  EXPECT_EQ(ReadChunks({"abc"}), "abc\r\n");
  EXPECT_EQ(ReadChunks({"abc\r\n"}), "abc\r\n");
  EXPECT_EQ(ReadChunks({""}), "");
  EXPECT_EQ(ReadChunks({"."}), "..\r\n");
}

TEST(ChunkBodyReader, BareCrOrLfIsAFlaw) {
  BodyFlaws flaws;
  ReadChunks({"a\nb\r\n"}, &flaws);
  EXPECT_TRUE(flaws.bare_cr_or_lf);
  ReadChunks({"a\rb\r\n"}, &flaws);
  EXPECT_TRUE(flaws.bare_cr_or_lf);
  ReadChunks({"ab\r"}, &flaws);
  EXPECT_TRUE(flaws.bare_cr_or_lf);
  ReadChunks({"ab\r", "\n"}, &flaws);
  EXPECT_FALSE(flaws.any());
}

}  // namespace
}  // namespace tern::net::smtp
