// Tests of net/smtp/bdat_chunk.h: the chunk's size and LAST from the BDAT argument, and its
// bytes taken from the front of the input at any split.
#include "net/smtp/bdat_chunk.h"

#include <string>

#include "gtest/gtest.h"

namespace tern::net::smtp {
namespace {

TEST(BdatChunk, ReadsTheSizeAndLastMarker) {
  BdatChunk chunk;
  ASSERT_TRUE(chunk.Begin("42"));
  EXPECT_EQ(chunk.size(), 42u);
  EXPECT_EQ(chunk.remaining(), 42u);
  EXPECT_FALSE(chunk.last());
  EXPECT_FALSE(chunk.complete());
  ASSERT_TRUE(chunk.Begin("7 last"));
  EXPECT_EQ(chunk.size(), 7u);
  EXPECT_TRUE(chunk.last());
}

TEST(BdatChunk, RefusesABadArgumentAndKeepsTheChunk) {
  BdatChunk chunk;
  ASSERT_TRUE(chunk.Begin("10 LAST"));
  for (const char* bad : {"", "x", "10 FIRST", "-1", "10 LAST x", "99999999999999999999999"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(chunk.Begin(bad));
    EXPECT_EQ(chunk.size(), 10u);
    EXPECT_TRUE(chunk.last());
  }
}

TEST(BdatChunk, ASizeZeroChunkIsCompleteAtOnce) {
  BdatChunk chunk;
  ASSERT_TRUE(chunk.Begin("0 LAST"));
  EXPECT_TRUE(chunk.complete());
  EXPECT_EQ(chunk.Take("QUIT\r\n"), "");
}

TEST(BdatChunk, TakesTheChunksBytesAtAnySplitAndLeavesTheRest) {
  const std::string input = "0123456789QUIT\r\n";
  for (size_t split = 0; split <= input.size(); ++split) {
    SCOPED_TRACE(split);
    BdatChunk chunk;
    ASSERT_TRUE(chunk.Begin("10"));
    const absl::string_view first = absl::string_view(input).substr(0, split);
    std::string taken(chunk.Take(first));
    EXPECT_EQ(taken.size(), std::min<size_t>(split, 10));
    EXPECT_EQ(chunk.complete(), split >= 10);
    const absl::string_view second = absl::string_view(input).substr(taken.size());
    const absl::string_view rest_taken = chunk.Take(second);
    taken.append(rest_taken.data(), rest_taken.size());
    EXPECT_EQ(taken, "0123456789");
    EXPECT_TRUE(chunk.complete());
    EXPECT_EQ(chunk.remaining(), 0u);
    EXPECT_EQ(chunk.Take("QUIT\r\n"), "");  // complete: nothing more is the chunk's
  }
}

}  // namespace
}  // namespace tern::net::smtp
