// Tests of net/smtp/body_reader.h: DATA termination, smuggling variants, BDAT stuffing.
#include "net/smtp/body_reader.h"

#include <string>

#include "gtest/gtest.h"

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
