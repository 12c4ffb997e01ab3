// Tests of net/smtp/client_capabilities.h: EHLO keywords, case, SIZE values; the serialized
// form a parked connection carries (round trip, strictness).
#include "net/smtp/client_capabilities.h"

#include <cstdint>
#include <iterator>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace tern::net::smtp {
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

// ---------------------------------------------------------------------------------------
// Serialize / Parse.

TEST(ServerCapabilitiesSerialized, RoundTripsEveryFlagAlone) {
  bool ServerCapabilities::*const flags[] = {
      &ServerCapabilities::esmtp,    &ServerCapabilities::pipelining,
      &ServerCapabilities::size,     &ServerCapabilities::eight_bit_mime,
      &ServerCapabilities::smtputf8, &ServerCapabilities::chunking,
      &ServerCapabilities::starttls, &ServerCapabilities::enhanced_status_codes,
      &ServerCapabilities::dsn,
  };
  std::set<std::string> forms;
  for (bool ServerCapabilities::*flag : flags) {
    ServerCapabilities caps;
    caps.*flag = true;
    const std::string text = caps.Serialize();
    forms.insert(text);
    auto parsed = ServerCapabilities::Parse(text);
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.status();
    EXPECT_EQ(*parsed, caps) << text;
  }
  EXPECT_EQ(forms.size(), std::size(flags));  // one bit each
}

TEST(ServerCapabilitiesSerialized, RoundTripsWhatEhloGives) {
  const ServerCapabilities caps = Parse(
      "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 35882577\r\n250-8BITMIME\r\n"
      "250-SMTPUTF8\r\n250-CHUNKING\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n"
      "250 DSN\r\n");
  EXPECT_EQ(caps.Serialize(), "1 1ff 35882577");
  auto parsed = ServerCapabilities::Parse(caps.Serialize());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, caps);

  const ServerCapabilities helo;  // after a HELO fallback: nothing offered
  EXPECT_EQ(helo.Serialize(), "1 0 0");
  auto parsed_helo = ServerCapabilities::Parse(helo.Serialize());
  ASSERT_TRUE(parsed_helo.ok());
  EXPECT_EQ(*parsed_helo, helo);
}

TEST(ServerCapabilitiesSerialized, LargestValuesFitTheBound) {
  ServerCapabilities caps;
  caps.esmtp = caps.pipelining = caps.size = caps.eight_bit_mime = caps.smtputf8 = caps.chunking =
      caps.starttls = caps.enhanced_status_codes = caps.dsn = true;
  caps.size_max = UINT64_MAX;
  const std::string text = caps.Serialize();
  EXPECT_LE(text.size(), ServerCapabilities::kSerializedBytesMax);
  auto parsed = ServerCapabilities::Parse(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->size_max, UINT64_MAX);
  EXPECT_EQ(*parsed, caps);
}

TEST(ServerCapabilitiesSerialized, GarbageIsRejected) {
  for (absl::string_view text : {
           "",
           "1",
           "1 1ff",
           "1 1ff 100 x",                  // extra field
           "2 1ff 100",                    // another version
           "01 1ff 100",                   // version not canonical
           "1  1ff 100",                   // double space
           " 1 1ff 100",                   // leading space
           "1 1ff 100 ",                   // trailing space
           "1 1ff 100\n",                  // trailing newline
           "1 1FF 100",                    // uppercase hex
           "1 200 100",                    // unknown flag bit
           "1 fff 100",                    // unknown flag bits
           "1 01 100",                     // leading zero
           "1 1ff 0100",                   // leading zero
           "1 1ff -1",                     // sign
           "1 1ff +1",                     // sign
           "1 0x1 100",                    // prefix
           "1 1ff 18446744073709551616",   // 2^64
           "1 1ff 123456789012345678901",  // 21 digits
           "1 1ff 1e3",
           "1 g 0",
           "garbage",
           "1 1ff 100000000000000000000000000000000000",  // too long
       }) {
    auto parsed = ServerCapabilities::Parse(text);
    EXPECT_TRUE(absl::IsInvalidArgument(parsed.status())) << "\"" << text << "\"";
  }
  // Embedded NUL.
  EXPECT_FALSE(ServerCapabilities::Parse(absl::string_view("1 1\0 0", 6)).ok());
}

}  // namespace
}  // namespace tern::net::smtp
