// Tests of net/smtp/client_capabilities.h: EHLO keywords, case, SIZE values.
#include "net/smtp/client_capabilities.h"

#include "gtest/gtest.h"

namespace tern::smtp {
namespace {

ServerCapabilities Parse(absl::string_view ehlo_reply) {
  ReplyParser parser;
  size_t used = 0;
  EXPECT_EQ(parser.Parse(ehlo_reply, &used), ReplyParseResult::kReply);
  return ParseEhloReply(parser.reply());
}

TEST(ParseEhloReply, AllKnownKeywords) {
  const ServerCapabilities caps = Parse(
      "250-mx.test Hello PIPELINING\r\n250-PIPELINING\r\n250-SIZE 35882577\r\n250-8BITMIME\r\n"
      "250-SMTPUTF8\r\n250-CHUNKING\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n"
      "250-AUTH PLAIN LOGIN\r\n250 DSN\r\n");
  EXPECT_TRUE(caps.esmtp);
  EXPECT_TRUE(caps.pipelining);
  EXPECT_TRUE(caps.size);
  EXPECT_EQ(caps.size_max, 35882577u);
  EXPECT_TRUE(caps.eight_bit_mime);
  EXPECT_TRUE(caps.smtputf8);
  EXPECT_TRUE(caps.chunking);
  EXPECT_TRUE(caps.starttls);
  EXPECT_TRUE(caps.enhanced_status_codes);
  EXPECT_TRUE(caps.dsn);
}

TEST(ParseEhloReply, GreetingLineIsNotAKeyword) {
  const ServerCapabilities caps = Parse("250 PIPELINING\r\n");
  EXPECT_TRUE(caps.esmtp);
  EXPECT_FALSE(caps.pipelining);
}

TEST(ParseEhloReply, KeywordsAreCaseInsensitive) {
  const ServerCapabilities caps =
      Parse("250-mx\r\n250-pipelining\r\n250-Size 100\r\n250-8bitmime\r\n250 smtpUTF8\r\n");
  EXPECT_TRUE(caps.pipelining);
  EXPECT_EQ(caps.size_max, 100u);
  EXPECT_TRUE(caps.eight_bit_mime);
  EXPECT_TRUE(caps.smtputf8);
}

TEST(ParseEhloReply, SizeWithoutValueOrWithBadValueMeansNoLimit) {
  for (absl::string_view reply :
       {"250-mx\r\n250 SIZE\r\n", "250-mx\r\n250 SIZE 0\r\n", "250-mx\r\n250 SIZE 12x\r\n",
        "250-mx\r\n250 SIZE 99999999999999999999999\r\n"}) {
    const ServerCapabilities caps = Parse(reply);
    EXPECT_TRUE(caps.size) << reply;
    EXPECT_EQ(caps.size_max, 0u) << reply;
  }
}

TEST(ParseEhloReply, NothingOffered) {
  const ServerCapabilities caps = Parse("250 mx.test\r\n");
  EXPECT_FALSE(caps.pipelining || caps.size || caps.eight_bit_mime || caps.smtputf8 ||
               caps.chunking || caps.starttls || caps.enhanced_status_codes || caps.dsn);
  EXPECT_FALSE(caps.pipelining);
  // "PIPELININGX" and "XSIZE" are other keywords.
  const ServerCapabilities other = Parse("250-mx\r\n250-PIPELININGX\r\n250 XSIZE 5\r\n");
  EXPECT_FALSE(other.pipelining);
  EXPECT_FALSE(other.size);
}

}  // namespace
}  // namespace tern::smtp
