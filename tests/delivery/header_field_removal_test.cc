// Tests of delivery/header_field_removal.h: every occurrence removed, the first value kept,
// nothing outside the header section touched.
#include "delivery/header_field_removal.h"

#include <string>

#include "gtest/gtest.h"

namespace tern::delivery {
namespace {

struct Result {
  std::optional<std::string> value;
  std::string bytes;
  size_t end = 0;
};

// `prefix` stands for the record header and envelope, `section` the header section (with
// its empty line), `rest` the body received so far.
Result Remove(absl::string_view prefix, absl::string_view section, absl::string_view rest,
              absl::string_view name = "X-Tern-Pool") {
  core::ByteBuffer buffer;
  buffer.Append(prefix);
  buffer.Append(section);
  buffer.Append(rest);
  Result r;
  r.end = prefix.size() + section.size();
  r.value = RemoveHeaderField(&buffer, prefix.size(), &r.end, name);
  r.bytes = std::string(buffer.view());
  return r;
}

TEST(RemoveHeaderField, RemovesEveryOccurrenceFirstValueWins) {
  const Result r = Remove("ENV",
                          "Received: a\r\nx-tern-POOL:  bulk \r\nSubject: s\r\n"
                          "X-Tern-Pool: other\r\n\r\n",
                          "X-Tern-Pool: body\r\n");
  ASSERT_TRUE(r.value.has_value());
  EXPECT_EQ(*r.value, "bulk");
  EXPECT_EQ(r.bytes, "ENVReceived: a\r\nSubject: s\r\n\r\nX-Tern-Pool: body\r\n");
  EXPECT_EQ(r.end, std::string("ENVReceived: a\r\nSubject: s\r\n\r\n").size());
}

TEST(RemoveHeaderField, ContinuationLinesGoWithTheField) {
  const Result r = Remove("", "A: 1\r\nX-Tern-Pool:\r\n\tbulk\r\n  \r\nB: 2\r\n\r\n", "body\r\n");
  EXPECT_EQ(*r.value, "bulk");
  EXPECT_EQ(r.bytes, "A: 1\r\nB: 2\r\n\r\nbody\r\n");
}

TEST(RemoveHeaderField, SpaceBeforeColonAndNoOtherPrefixMatches) {
  Result r = Remove("", "X-Tern-Pool-Other: no\r\nX-Tern-Pool : yes\r\n\r\n", "");
  EXPECT_EQ(*r.value, "yes");
  EXPECT_EQ(r.bytes, "X-Tern-Pool-Other: no\r\n\r\n");
  r = Remove("", "X-Tern-Poo: no\r\n\r\n", "");
  EXPECT_FALSE(r.value.has_value());
  EXPECT_EQ(r.bytes, "X-Tern-Poo: no\r\n\r\n");
}

TEST(RemoveHeaderField, AbsentLeavesEverythingAsItWas) {
  const Result r = Remove("ENV", "Subject: s\r\n\r\n", "X-Tern-Pool: in body\r\n");
  EXPECT_FALSE(r.value.has_value());
  EXPECT_EQ(r.bytes, "ENVSubject: s\r\n\r\nX-Tern-Pool: in body\r\n");
  EXPECT_EQ(r.end, 3 + 14u);
}

TEST(RemoveHeaderField, SectionWithoutEmptyLine) {
  // A message that is all header: the section runs to the end of the data.
  const Result r = Remove("", "A: 1\r\nX-Tern-Pool: bulk\r\n", "");
  EXPECT_EQ(*r.value, "bulk");
  EXPECT_EQ(r.bytes, "A: 1\r\n");
  EXPECT_EQ(r.end, 6u);
}

TEST(RemoveHeaderField, EmptyValueAndLongValueAreBounded) {
  Result r = Remove("", "X-Tern-Pool:\r\n\r\n", "");
  ASSERT_TRUE(r.value.has_value());
  EXPECT_EQ(*r.value, "");
  const std::string long_value(10'000, 'v');
  r = Remove("", "X-Tern-Pool: " + long_value + "\r\n\r\n", "b\r\n");
  EXPECT_EQ(r.value->size(), kRemovedHeaderValueBytesMax - 1);  // the leading space, trimmed
  EXPECT_EQ(r.bytes, "\r\nb\r\n");
}

}  // namespace
}  // namespace tern::delivery
