// Tests of delivery/reply_pattern.h: replies that differ only in addresses, numbers and
// ids reduce to one pattern; the reply codes stay.
#include "delivery/reply_pattern.h"

#include <string>

#include "core/utf8.h"
#include "gtest/gtest.h"

namespace tern::delivery {
namespace {

TEST(ReplyPattern, KeepsReplyAndEnhancedCodes) {
  EXPECT_EQ(ReplyPattern("550 5.1.1 user unknown"), "550 5.1.1 user unknown");
  EXPECT_EQ(ReplyPattern("451 4.7.1 greylisted"), "451 4.7.1 greylisted");
}

TEST(ReplyPattern, CollapsesAddressesNumbersAndIds) {
  EXPECT_EQ(ReplyPattern("450 4.2.0 <bob@example.com>: mailbox busy, try in 30 s (queue "
                         "4F3A2B1C)"),
            "450 4.2.0 <address>: mailbox busy, try in # s (queue <id>)");
  EXPECT_EQ(ReplyPattern("421 4.4.2 mx1.example.com 10.0.0.7 timeout"),
            "421 4.4.2 mx#.example.com #.#.#.# timeout");
  EXPECT_EQ(ReplyPattern("250 2.0.0 Ok: queued as 7C2E81A0F3"), "250 2.0.0 Ok: queued as <id>");
}

TEST(ReplyPattern, IdenticalFailuresGroup) {
  EXPECT_EQ(ReplyPattern("452 4.2.2 <alice@x.test> over quota (used 1048576 of 1000000)"),
            ReplyPattern("452 4.2.2 <carol@y.test> over quota (used 2000001 of 1000000)"));
  EXPECT_NE(ReplyPattern("550 5.1.1 user unknown"), ReplyPattern("551 5.1.1 user unknown"));
}

TEST(ReplyPattern, WhitespaceAndControlBytes) {
  EXPECT_EQ(ReplyPattern("  421  4.3.2\r\n shutting\tdown  "), "421 4.3.2 shutting down");
  EXPECT_EQ(ReplyPattern(std::string("550 a\0b", 7)), "550 a?b");
}

TEST(ReplyPattern, LongRepliesAreCut) {
  const std::string pattern = ReplyPattern(std::string(5000, 'x'));
  EXPECT_EQ(pattern.size(), kReplyPatternBytesMax + 3);
  EXPECT_EQ(pattern.substr(pattern.size() - 3), "...");
}

// A cut never leaves half a UTF-8 character (the pattern is shown in JSON and on the page).
TEST(ReplyPattern, CutKeepsWholeCharacters) {
  std::string reply = "451 4.7.1 x";
  for (int i = 0; i < 200; ++i) reply += "\xc3\xa9";  // U+00E9, two bytes each
  const std::string pattern = ReplyPattern(reply);
  ASSERT_EQ(pattern.substr(pattern.size() - 3), "...");
  const std::string kept = pattern.substr(0, pattern.size() - 3);
  EXPECT_LE(kept.size(), kReplyPatternBytesMax);
  EXPECT_TRUE(core::IsValidUtf8(kept));
}

}  // namespace
}  // namespace tern::delivery
