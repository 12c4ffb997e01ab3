// Tests of net/smtp/dsn_parameters.h: the RFC 3461 grammar of RET, NOTIFY, ENVID, ORCPT
// and xtext, as tables of values and the answer each must get.
#include "net/smtp/dsn_parameters.h"

#include <string>

#include "gtest/gtest.h"

namespace tern::net::smtp {
namespace {

TEST(DsnParameters, RetIsFullOrHdrsInAnyCase) {
  EXPECT_EQ(ParseDsnRet("FULL"), kDsnRetFull);
  EXPECT_EQ(ParseDsnRet("full"), kDsnRetFull);
  EXPECT_EQ(ParseDsnRet("HDRS"), kDsnRetHeaders);
  EXPECT_EQ(ParseDsnRet("Hdrs"), kDsnRetHeaders);
  for (const char* bad : {"", "HEADERS", "FULL ", "FUL", "FULL,HDRS", "NONE"}) {
    EXPECT_EQ(ParseDsnRet(bad), kDsnRetNone) << bad;
  }
}

TEST(DsnParameters, NotifyKeywordLists) {
  struct Case {
    const char* value;
    uint8_t notify;
  };
  for (const Case& c : {
           Case{"NEVER", kDsnNotifyNever}, Case{"never", kDsnNotifyNever},
           Case{"SUCCESS", kDsnNotifySuccess}, Case{"FAILURE", kDsnNotifyFailure},
           Case{"DELAY", kDsnNotifyDelay},
           Case{"SUCCESS,FAILURE", kDsnNotifySuccess | kDsnNotifyFailure},
           Case{"delay,Failure,SUCCESS", kDsnNotifySuccess | kDsnNotifyFailure | kDsnNotifyDelay},
           Case{"FAILURE,FAILURE", kDsnNotifyFailure},  // a keyword twice counts once
       }) {
    uint8_t notify = 0;
    EXPECT_EQ(ParseDsnNotify(c.value, &notify), DsnValueError::kNone) << c.value;
    EXPECT_EQ(notify, c.notify) << c.value;
  }
}

TEST(DsnParameters, NotifyNeverMustStandAlone) {
  for (const char* value : {"NEVER,SUCCESS", "SUCCESS,NEVER", "FAILURE,never,DELAY"}) {
    uint8_t notify = 0;
    EXPECT_EQ(ParseDsnNotify(value, &notify), DsnValueError::kNeverCombined) << value;
    EXPECT_EQ(notify, 0) << value;
  }
  uint8_t notify = 0;
  EXPECT_EQ(ParseDsnNotify("NEVER,NEVER", &notify), DsnValueError::kNone);
  EXPECT_EQ(notify, kDsnNotifyNever);
}

TEST(DsnParameters, NotifySyntaxErrors) {
  for (const char* value : {"", ",", "SUCCESS,", ",SUCCESS", "SUCCESS,,FAILURE", "SUCCES",
                            "SUCCESS FAILURE", "SUCCESS;FAILURE", "ALWAYS", "NEVER,"}) {
    uint8_t notify = 0;
    EXPECT_EQ(ParseDsnNotify(value, &notify), DsnValueError::kSyntax) << value;
    EXPECT_EQ(notify, 0) << value;
  }
  // "NOTIFY" without '=': the session passes a null view.
  uint8_t notify = 0;
  EXPECT_EQ(ParseDsnNotify(absl::string_view(), &notify), DsnValueError::kSyntax);
  EXPECT_EQ(ParseDsnRet(absl::string_view()), kDsnRetNone);
  EXPECT_EQ(CheckDsnEnvid(absl::string_view()), DsnValueError::kSyntax);
  EXPECT_EQ(CheckDsnOrcpt(absl::string_view()), DsnValueError::kSyntax);
}

TEST(DsnParameters, XtextDecodedLength) {
  EXPECT_EQ(XtextDecodedBytes(""), 0u);
  EXPECT_EQ(XtextDecodedBytes("abc"), 3u);
  EXPECT_EQ(XtextDecodedBytes("a+2Bb"), 3u);  // "a+b"
  EXPECT_EQ(XtextDecodedBytes("+20+7E+3D"), 3u);
  EXPECT_EQ(XtextDecodedBytes("!\"#$%&'()*,-./09:;<>?@AZ[\\]^_`az{|}~"), 36u);
  for (const char* bad : {
           "a b",       // space ends an esmtp-value
           "a=b",       // '=' only as +3D
           "+",         // truncated escapes
           "a+2",       //
           "+2b",       // lower-case hex
           "+G0",       // not hex
           "+0D+0A",    // decodes to control characters
           "+7F",       //
           "+C3+A9",    // decodes to non-ASCII
           "\x01",      // control character
           "\xc3\xa9",  // raw UTF-8
       }) {
    EXPECT_FALSE(XtextDecodedBytes(bad).has_value()) << bad;
  }
}

TEST(DsnParameters, EnvidIsNonEmptyXtextOfAtMost100DecodedCharacters) {
  EXPECT_EQ(CheckDsnEnvid("abc"), DsnValueError::kNone);
  EXPECT_EQ(CheckDsnEnvid("QQ+2B1+20x"), DsnValueError::kNone);
  EXPECT_EQ(CheckDsnEnvid(std::string(100, 'e')), DsnValueError::kNone);
  EXPECT_EQ(CheckDsnEnvid(std::string(101, 'e')), DsnValueError::kTooLong);
  // The limit is on the decoded value: 100 escapes are 300 characters on the wire.
  std::string escaped;
  for (int i = 0; i < 100; ++i) escaped += "+2B";
  EXPECT_EQ(CheckDsnEnvid(escaped), DsnValueError::kNone);
  EXPECT_EQ(CheckDsnEnvid(escaped + "x"), DsnValueError::kTooLong);
  for (const char* bad : {"", "a=b", "a+zz", "+0A", "x+"}) {
    EXPECT_EQ(CheckDsnEnvid(bad), DsnValueError::kSyntax) << bad;
  }
}

TEST(DsnParameters, OrcptIsAddrTypeSemicolonXtext) {
  for (const char* good :
       {"rfc822;x@example.com", "RFC822;a+2Bb@example.com", "utf-8;x@example.com",
        "utf-8;\\x{E9}@example.com", "x-local;a;b", "rfc822;+20"}) {
    EXPECT_EQ(CheckDsnOrcpt(good), DsnValueError::kNone) << good;
  }
  for (const char* bad : {
           "",                        //
           "x@example.com",           // no addr-type
           ";x@example.com",          // empty addr-type
           "rfc822;",                 // empty address
           "rfc 822;x@example.com",   // space
           "rfc(822);x@example.com",  // not an atom
           "rf=c;x@example.com",      // no '=' in an esmtp-value
           "rfc822;x=y@example.com",  //
           "rfc822;x+0D+0A@example.com",
           "utf-8;\xc3\xa9@example.com",  // utf-8-addr-unitext: not taken
       }) {
    EXPECT_EQ(CheckDsnOrcpt(bad), DsnValueError::kSyntax) << bad;
  }
  const std::string longest = "rfc822;" + std::string(500 - 7 - 12, 'a') + "@example.com";
  ASSERT_EQ(longest.size(), kOrcptBytesMax);
  EXPECT_EQ(CheckDsnOrcpt(longest), DsnValueError::kNone);
  EXPECT_EQ(CheckDsnOrcpt("a" + longest), DsnValueError::kTooLong);
}

}  // namespace
}  // namespace tern::net::smtp
