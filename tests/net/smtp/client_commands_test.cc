// Tests of net/smtp/client_commands.h: path quoting, parameters, injection refused.
#include "net/smtp/client_commands.h"

#include <string>

#include "gtest/gtest.h"

namespace tern::net::smtp {
namespace {

std::string Path(absl::string_view address) {
  std::string out;
  if (!AppendPath(address, &out)) return "REFUSED";
  return out;
}

TEST(AppendPath, Table) {
  EXPECT_EQ(Path(""), "<>");
  EXPECT_EQ(Path("a@b.test"), "<a@b.test>");
  EXPECT_EQ(Path("first.last+tag@b.test"), "<first.last+tag@b.test>");
  EXPECT_EQ(Path("Postmaster"), "<Postmaster>");
  EXPECT_EQ(Path("john smith@b.test"), "<\"john smith\"@b.test>");
  EXPECT_EQ(Path("a\"b\\c@b.test"), "<\"a\\\"b\\\\c\"@b.test>");
  EXPECT_EQ(Path(".a@b.test"), "<\".a\"@b.test>");
  EXPECT_EQ(Path("a..b@b.test"), "<\"a..b\"@b.test>");
  EXPECT_EQ(Path("\"@\"@b.test"), "<\"\\\"@\\\"\"@b.test>");
  EXPECT_EQ(Path("j\xC3\xB6rg@b.test"), "<j\xC3\xB6rg@b.test>");
  EXPECT_EQ(Path("a@b.test\r\nRSET"), "REFUSED");
  EXPECT_EQ(Path("a\n@b.test"), "REFUSED");
  EXPECT_EQ(Path(std::string(300, 'a') + "@b.test"), "REFUSED");
}

TEST(AppendMailFrom, Parameters) {
  std::string out;
  ASSERT_TRUE(AppendMailFrom("a@b.test", {}, &out));
  EXPECT_EQ(out, "MAIL FROM:<a@b.test>\r\n");
  out.clear();
  ASSERT_TRUE(AppendMailFrom("", {.size = 1234, .eight_bit_mime = true, .smtputf8 = true}, &out));
  EXPECT_EQ(out, "MAIL FROM:<> SIZE=1234 BODY=8BITMIME SMTPUTF8\r\n");
}

TEST(AppendRcptTo, RefusesEmptyAndInjection) {
  std::string out = "x";
  EXPECT_FALSE(AppendRcptTo("", {}, &out));
  EXPECT_FALSE(AppendRcptTo("a@b\r\nDATA", {}, &out));
  EXPECT_EQ(out, "x");
  ASSERT_TRUE(AppendRcptTo("c@d.test", {}, &out));
  EXPECT_EQ(out, "xRCPT TO:<c@d.test>\r\n");
}

TEST(AppendMailFrom, DsnParameters) {
  std::string out;
  ASSERT_TRUE(AppendMailFrom("a@b.test", {.dsn_ret = kDsnRetHeaders, .envid = "QQ+2B1"}, &out));
  EXPECT_EQ(out, "MAIL FROM:<a@b.test> RET=HDRS ENVID=QQ+2B1\r\n");
  out.clear();
  // Not xtext, or too long: left out.
  ASSERT_TRUE(AppendMailFrom("a@b.test", {.dsn_ret = kDsnRetFull, .envid = "a b"}, &out));
  EXPECT_EQ(out, "MAIL FROM:<a@b.test> RET=FULL\r\n");
  out.clear();
  const std::string long_envid(kEnvidBytesMax + 1, 'e');
  ASSERT_TRUE(AppendMailFrom("a@b.test", {.envid = long_envid}, &out));
  EXPECT_EQ(out, "MAIL FROM:<a@b.test>\r\n");
}

TEST(AppendRcptTo, DsnParameters) {
  std::string out;
  ASSERT_TRUE(AppendRcptTo(
      "c@d.test", {kDsnNotifySuccess | kDsnNotifyDelay | kDsnNotifyFailure, "rfc822;c+2B@d.test"},
      &out));
  EXPECT_EQ(out, "RCPT TO:<c@d.test> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;c+2B@d.test\r\n");
  out.clear();
  ASSERT_TRUE(AppendRcptTo("c@d.test", {kDsnNotifyNever, "no-semicolon"}, &out));
  EXPECT_EQ(out, "RCPT TO:<c@d.test> NOTIFY=NEVER\r\n");
  out.clear();
  ASSERT_TRUE(AppendRcptTo("c@d.test", {0, "rfc822;a\r\nDATA"}, &out));
  EXPECT_EQ(out, "RCPT TO:<c@d.test>\r\n");
}

}  // namespace
}  // namespace tern::net::smtp

namespace tern::net::smtp {
namespace {

TEST(AppendMailFromEnvid, LimitIsOnTheDecodedLength) {
  // 100 characters once decoded, 300 as stored: still passed on as received.
  std::string escaped;
  for (int i = 0; i < 100; ++i) escaped += "+2B";
  std::string out;
  ASSERT_TRUE(AppendMailFrom("a@b.test", {.envid = escaped}, &out));
  EXPECT_EQ(out, "MAIL FROM:<a@b.test> ENVID=" + escaped + "\r\n");
}

}  // namespace
}  // namespace tern::net::smtp
