// Tests of net/smtp/client_reply_parser.h: reply grammar (table), enhanced status codes,
// every split of the input, and the bounds on hostile replies.
#include "net/smtp/client_reply_parser.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"

namespace tern::net::smtp {
namespace {

// "code|enhanced|line1|line2..." for each complete reply, or "error: why" at the end.
std::vector<std::string> ParseAll(ReplyParser& parser, absl::string_view in) {
  std::vector<std::string> out;
  while (!in.empty()) {
    size_t used = 0;
    const ReplyParseResult r = parser.Parse(in, &used);
    EXPECT_LE(used, in.size());
    in.remove_prefix(used);
    if (r == ReplyParseResult::kNeedMore) {
      EXPECT_TRUE(in.empty());
      break;
    }
    if (r == ReplyParseResult::kError) {
      out.push_back(absl::StrCat("error: ", parser.error_text()));
      break;
    }
    const ServerReply& reply = parser.reply();
    std::string s = absl::StrCat(reply.code(), "|", reply.enhanced().ToString());
    for (size_t i = 0; i < reply.line_count(); ++i) absl::StrAppend(&s, "|", reply.line(i));
    out.push_back(s);
  }
  return out;
}

std::vector<std::string> ParseOnce(absl::string_view in) {
  ReplyParser parser;
  return ParseAll(parser, in);
}

TEST(ReplyParser, SingleLine) {
  EXPECT_EQ(ParseOnce("250 Ok\r\n"), std::vector<std::string>{"250||Ok"});
}

TEST(ReplyParser, EnhancedCodeTakenOutOfEveryLine) {
  EXPECT_EQ(ParseOnce("550-5.1.1 User unknown\r\n550 5.1.1 try later\r\n"),
            std::vector<std::string>{"550|5.1.1|User unknown|try later"});
}

TEST(ReplyParser, EnhancedCodeOfAnotherClassIsText) {
  EXPECT_EQ(ParseOnce("250 5.1.1 odd\r\n"), std::vector<std::string>{"250||5.1.1 odd"});
}

TEST(ReplyParser, CodeAloneAndEmptyText) {
  EXPECT_EQ(ParseOnce("250\r\n"), std::vector<std::string>{"250||"});
  EXPECT_EQ(ParseOnce("250-\r\n250 \r\n"), std::vector<std::string>{"250|||"});
  EXPECT_EQ(ParseOnce("250 2.0.0\r\n"), std::vector<std::string>{"250|2.0.0|"});
}

TEST(ReplyParser, BareLfEndsALine) {
  EXPECT_EQ(ParseOnce("250-a\n250 b\n"), std::vector<std::string>{"250||a|b"});
}

TEST(ReplyParser, MultiLineEhlo) {
  EXPECT_EQ(ParseOnce("250-mx.test Hello\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n"),
            std::vector<std::string>{"250||mx.test Hello|PIPELINING|SIZE 1000|8BITMIME"});
}

TEST(ReplyParser, StopsAfterEachReply) {
  ReplyParser parser;
  const absl::string_view in = "250 a\r\n354 go\r\n";
  size_t used = 0;
  ASSERT_EQ(parser.Parse(in, &used), ReplyParseResult::kReply);
  EXPECT_EQ(used, 7u);
  EXPECT_EQ(parser.reply().code(), 250);
  ASSERT_EQ(parser.Parse(in.substr(used), &used), ReplyParseResult::kReply);
  EXPECT_EQ(parser.reply().code(), 354);
  EXPECT_EQ(parser.reply().line(0), "go");
}

TEST(ReplyParser, EveryReplyClassPredicate) {
  ReplyParser parser;
  size_t used = 0;
  ASSERT_EQ(parser.Parse("451 4.3.0 later\r\n", &used), ReplyParseResult::kReply);
  EXPECT_TRUE(parser.reply().transient_failure());
  EXPECT_FALSE(parser.reply().permanent_failure());
  EXPECT_EQ(parser.reply().enhanced(), (EnhancedCode{4, 3, 0}));
}

TEST(ReplyParser, SplitAtEveryByteGivesTheSameReplies) {
  const std::string in =
      "220 mx.test ESMTP\r\n250-mx.test\r\n250-SIZE 10\r\n250 PIPELINING\r\n"
      "550-5.7.1 no\n550-way\r\n550 5.7.1 sorry\r\n250 2.0.0 Ok queued\r\n";
  const std::vector<std::string> whole = ParseOnce(in);
  ASSERT_EQ(whole.size(), 4u);
  EXPECT_EQ(whole[2], "550|5.7.1|no|way|sorry");
  for (size_t split = 0; split <= in.size(); ++split) {
    ReplyParser parser;
    std::vector<std::string> got = ParseAll(parser, in.substr(0, split));
    if (!got.empty() && absl::StartsWith(got.back(), "error")) {
      EXPECT_EQ(got, whole) << split;
      continue;
    }
    std::vector<std::string> rest = ParseAll(parser, absl::string_view(in).substr(split));
    got.insert(got.end(), rest.begin(), rest.end());
    EXPECT_EQ(got, whole) << "split at " << split;
  }
  ReplyParser bytewise;
  std::vector<std::string> got;
  for (char c : in) {
    std::vector<std::string> one = ParseAll(bytewise, absl::string_view(&c, 1));
    got.insert(got.end(), one.begin(), one.end());
    if (!got.empty() && absl::StartsWith(got.back(), "error")) break;
  }
  EXPECT_EQ(got, whole);
}

struct BadCase {
  const char* name;
  std::string input;
};

TEST(ReplyParser, MalformedRepliesAreErrors) {
  const std::vector<BadCase> cases = {
      {"non-digit code", "2x0 Ok\r\n"},
      {"code 1xx", "199 Ok\r\n"},
      {"code 6xx", "600 Ok\r\n"},
      {"code 0xx", "050 Ok\r\n"},
      {"four digits", "2500 Ok\r\n"},
      {"no separator", "250Ok\r\n"},
      {"tab separator", "250\tOk\r\n"},
      {"short line", "25\r\n"},
      {"empty line", "\r\n"},
      {"mismatched codes", "250-a\r\n251 b\r\n"},
      {"NUL in text", std::string("250 O\0k\r\n", 9)},
      {"NUL in code", std::string("2\00050 Ok\r\n", 9)},
      {"leading space", " 250 Ok\r\n"},
  };
  for (const BadCase& c : cases) {
    const std::vector<std::string> got = ParseOnce(c.input);
    ASSERT_EQ(got.size(), 1u) << c.name;
    EXPECT_TRUE(absl::StartsWith(got[0], "error")) << c.name << ": " << got[0];
  }
}

TEST(ReplyParser, LineOf512BytesIsTheLimit) {
  const std::string ok = absl::StrCat("250 ", std::string(kReplyLineBytesMax - 6, 'a'), "\r\n");
  ASSERT_EQ(ok.size(), kReplyLineBytesMax);
  EXPECT_EQ(ParseOnce(ok).size(), 1u);
  EXPECT_FALSE(absl::StartsWith(ParseOnce(ok)[0], "error"));
  const std::string too_long =
      absl::StrCat("250 ", std::string(kReplyLineBytesMax - 5, 'a'), "\r\n");
  EXPECT_EQ(ParseOnce(too_long), std::vector<std::string>{"error: reply line too long"});
}

TEST(ReplyParser, EndlessLineFailsAfterTheLimitNotAtTheEnd) {
  ReplyParser parser;
  const std::string chunk(100, 'a');
  size_t used = 0;
  ASSERT_EQ(parser.Parse("250 ", &used), ReplyParseResult::kNeedMore);
  int calls = 0;
  ReplyParseResult r = ReplyParseResult::kNeedMore;
  while (r == ReplyParseResult::kNeedMore && calls < 10000) {
    r = parser.Parse(chunk, &used);
    ++calls;
  }
  EXPECT_EQ(r, ReplyParseResult::kError);
  EXPECT_LE(calls, 6);  // 512 bytes, not 1 MB
  // It stays in error.
  EXPECT_EQ(parser.Parse("250 Ok\r\n", &used), ReplyParseResult::kError);
  parser.Reset();
  EXPECT_EQ(parser.Parse("250 Ok\r\n", &used), ReplyParseResult::kReply);
}

TEST(ReplyParser, LineCountLimit) {
  std::string ok;
  for (size_t i = 0; i + 1 < kReplyLinesMax; ++i) ok += "250-x\r\n";
  ok += "250 x\r\n";
  EXPECT_FALSE(absl::StartsWith(ParseOnce(ok)[0], "error"));
  std::string hostile;
  for (int i = 0; i < 1000; ++i) hostile += "250-x\r\n";
  hostile += "250 x\r\n";
  EXPECT_EQ(ParseOnce(hostile), std::vector<std::string>{"error: too many reply lines"});
}

TEST(ReplyParser, ByteLimit) {
  // Lines of 512 bytes exceed kReplyBytesMax before the line count limit.
  const std::string line = absl::StrCat("250-", std::string(kReplyLineBytesMax - 6, 'b'), "\r\n");
  std::string hostile;
  while (hostile.size() <= kReplyBytesMax) hostile += line;
  hostile += "250 end\r\n";
  ASSERT_LT(hostile.size() / line.size(), kReplyLinesMax);
  EXPECT_EQ(ParseOnce(hostile), std::vector<std::string>{"error: reply too long"});
}

TEST(ReplyParser, SummaryIsBounded) {
  ReplyParser parser;
  size_t used = 0;
  ASSERT_EQ(parser.Parse("550-5.1.1 <a@b>: User unknown\r\n550 5.1.1 in virtual table\r\n", &used),
            ReplyParseResult::kReply);
  std::string summary;
  parser.reply().AppendSummary(512, &summary);
  EXPECT_EQ(summary, "550 5.1.1 <a@b>: User unknown in virtual table");
  summary.clear();
  parser.reply().AppendSummary(9, &summary);
  EXPECT_EQ(summary, "550 5.1.1");
}

TEST(ReplyParser, SummaryIsCutOnACharacterBoundary) {
  ReplyParser parser;
  size_t used = 0;
  ASSERT_EQ(parser.Parse("550 5.1.1 Empf\xc3\xa4nger unbekannt\r\n", &used),
            ReplyParseResult::kReply);
  std::string summary = "prefix ";
  parser.reply().AppendSummary(15, &summary);  // "550 5.1.1 Empf" + the first byte of "ä"
  EXPECT_EQ(summary, "prefix 550 5.1.1 Empf");
  summary.clear();
  parser.reply().AppendSummary(16, &summary);
  EXPECT_EQ(summary, "550 5.1.1 Empf\xc3\xa4");
}

TEST(EnhancedCode, ParseTable) {
  struct Case {
    const char* text;
    size_t consumed;
    EnhancedCode code;
  };
  const Case cases[] = {
      {"2.0.0 Ok", 6, {2, 0, 0}},
      {"5.7.1", 5, {5, 7, 1}},
      {"4.123.999 x", 10, {4, 123, 999}},
      {"3.0.0 x", 0, {}},
      {"5.1234.1 x", 0, {}},
      {"5.1.1x", 0, {}},
      {"5..1 x", 0, {}},
      {"5.1 x", 0, {}},
      {"", 0, {}},
      {"5.1.", 0, {}},
  };
  for (const Case& c : cases) {
    EnhancedCode code;
    EXPECT_EQ(ParseEnhancedCode(c.text, &code), c.consumed) << c.text;
    if (c.consumed > 0) {
      EXPECT_EQ(code, c.code) << c.text;
    }
  }
}

}  // namespace
}  // namespace tern::net::smtp
