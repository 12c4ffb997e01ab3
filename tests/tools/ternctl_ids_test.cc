// Tests of tools/ternctl_ids.h: ids from standard input, batches under the request bound.
#include "tools/ternctl_ids.h"

#include <cstdio>
#include <string>

#include "gtest/gtest.h"

namespace tern::tools {
namespace {

// `text` as a FILE* (closed by the test's end).
struct Input {
  explicit Input(const std::string& text) : file(tmpfile()) {
    fwrite(text.data(), 1, text.size(), file);
    rewind(file);
  }
  ~Input() { fclose(file); }
  FILE* file;
};

TEST(TernctlIds, DashReadsStandardInputSkippingBlankLines) {
  Input input("00000000000000A1\n\n  00000000000000b2  \r\n\t\n3");
  auto ids = ExpandIds({"0000000000000001", "-", "0000000000000002"}, input.file);
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_EQ(*ids, (std::vector<std::string>{"0000000000000001", "00000000000000A1",
                                            "00000000000000b2", "3", "0000000000000002"}));
}

TEST(TernctlIds, BadLineIsNamed) {
  Input input("00000000000000A1\nnot-an-id\n");
  auto ids = ExpandIds({"-"}, input.file);
  ASSERT_FALSE(ids.ok());
  EXPECT_NE(ids.status().message().find("line 2"), absl::string_view::npos) << ids.status();
  Input long_line(std::string(1000, 'a') + "\n");
  EXPECT_FALSE(ExpandIds({"-"}, long_line.file).ok());
  Input too_long_id("00000000000000001\n");  // 17 digits
  EXPECT_FALSE(ExpandIds({"-"}, too_long_id.file).ok());
}

TEST(TernctlIds, EmptyInputGivesNoIds) {
  Input input("\n\n");
  auto ids = ExpandIds({"-"}, input.file);
  ASSERT_TRUE(ids.ok());
  EXPECT_TRUE(ids->empty());
  EXPECT_TRUE(BatchIds(*ids, kIdQueryBytesMax).empty());
}

TEST(TernctlIds, BatchesStayUnderTheQueryBound) {
  std::vector<std::string> ids(1000, std::string(16, 'F'));
  const auto batches = BatchIds(ids, kIdQueryBytesMax);
  size_t total = 0;
  for (const auto& batch : batches) {
    EXPECT_LE(batch.size() * (4 + 16), kIdQueryBytesMax);
    total += batch.size();
  }
  EXPECT_EQ(total, ids.size());
  EXPECT_EQ(batches.size(), (1000 * 20 + kIdQueryBytesMax - 1) / kIdQueryBytesMax);
  EXPECT_EQ(batches[0].size(), kIdQueryBytesMax / 20);
}

}  // namespace
}  // namespace tern::tools
