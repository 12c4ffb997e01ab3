// Tests of net/smtp/session.h: exact reply lines for every command, limit and error; input
// split at every byte; SMTP smuggling; BDAT; commit order.
#include "net/smtp/session.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "net/smtp/record_reserve.h"
#include "tests/net/smtp/fake_sink.h"

namespace tern::net::smtp {
namespace {

using ::tern::net::smtp::testing::FakeSink;

absl::Time FixedClock() { return absl::FromUnixSeconds(1700000000); }  // 2023-11-14 22:13:20

const RelayPolicy& Policy() {
  static const RelayPolicy* policy =
      new RelayPolicy(*RelayPolicy::FromFlags("127.0.0.0/8", "example.com"));
  return *policy;
}

class SessionTest : public ::testing::Test {
 protected:
  SessionTest() {
    config_.hostname = "mx.tern.test";
    config_.max_message_size = 10000;
    config_.max_recipients = 5;
    config_.relay_policy = &Policy();
    config_.clock = &FixedClock;
    client_.address = "192.0.2.9";
    client_.port = 40000;
  }
  ~SessionTest() override {
    if (session_ != nullptr) {
      sink_.CompleteAll();
      session_.reset();
    }
  }

  SmtpSession& Session() {
    if (session_ == nullptr) {
      session_ = std::make_unique<SmtpSession>(config_, client_, &sink_, &counters_);
      session_->Start();
    }
    return *session_;
  }
  // Feeds `input` and returns the sendable output (everything since the last call).
  std::string Send(absl::string_view input) {
    Session().Consume(input);
    return Drain();
  }
  std::string Drain() {
    std::string out(Session().output().Sendable());
    Session().output().Consume(out.size());
    return out;
  }
  // Greets and says EHLO, discarding the replies.
  void Hello() {
    Session();
    Send("EHLO client.test\r\n");
  }
  uint64_t Rejects(int code) {
    return counters_.rejects_by_code[SmtpCounters::CodeIndex(code)].load();
  }

  SessionConfig config_;
  ClientInfo client_;
  FakeSink sink_;
  SmtpCounters counters_;
  std::unique_ptr<SmtpSession> session_;
};

constexpr absl::string_view kEhloReply =
    "250-mx.tern.test\r\n250-PIPELINING\r\n250-SIZE 10000\r\n250-8BITMIME\r\n"
    "250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n250 CHUNKING\r\n";

TEST_F(SessionTest, GreetingAndEhlo) {
  EXPECT_EQ(Drain(), "220 mx.tern.test ESMTP Tern\r\n");
  EXPECT_EQ(Send("EHLO client.test\r\n"), kEhloReply);
  EXPECT_EQ(Send("ehlo client.test\r\n"), kEhloReply);
  EXPECT_EQ(Send("HELO client.test\r\n"), "250 mx.tern.test\r\n");
  EXPECT_EQ(Send("EHLO\r\n"), "501 5.5.2 Syntax: EHLO hostname\r\n");
  EXPECT_EQ(Send("HELO a b\r\n"), "501 5.5.2 Syntax: HELO hostname\r\n");
}

TEST_F(SessionTest, EhloWithoutSizeLimit) {
  config_.max_message_size = 0;
  Drain();
  EXPECT_EQ(Send("EHLO c\r\n"),
            "250-mx.tern.test\r\n250-PIPELINING\r\n250-SIZE\r\n250-8BITMIME\r\n"
            "250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n250 CHUNKING\r\n");
}

TEST_F(SessionTest, SimpleCommands) {
  Drain();
  EXPECT_EQ(Send("NOOP\r\n"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(Send("noop anything\r\n"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(Send("RSET\r\n"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(Send("RSET x\r\n"), "501 5.5.2 Syntax: RSET\r\n");
  EXPECT_EQ(Send("VRFY root\r\n"),
            "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n");
  EXPECT_EQ(Send("EXPN staff\r\n"), "502 5.5.1 EXPN not supported\r\n");
  EXPECT_EQ(Send("HELP\r\n"), "214 2.0.0 Tern SMTP: see RFC 5321\r\n");
  EXPECT_EQ(Send("FOO\r\n"), "500 5.5.1 Error: command not recognized\r\n");
  EXPECT_EQ(Send("STARTTLSX\r\n"), "500 5.5.1 Error: command not recognized\r\n");
  EXPECT_EQ(Send("\r\n"), "500 5.5.2 Error: bad syntax\r\n");
  EXPECT_EQ(Send("QUIT x\r\n"), "501 5.5.2 Syntax: QUIT\r\n");
  EXPECT_FALSE(Session().wants_close());
  EXPECT_EQ(Send("QUIT\r\nNOOP\r\n"), "221 2.0.0 Bye\r\n");
  EXPECT_TRUE(Session().wants_close());
  EXPECT_EQ(Send("NOOP\r\n"), "");
  EXPECT_EQ(counters_.commands.load(), 12u);
  EXPECT_EQ(Rejects(500), 3u);
  EXPECT_EQ(Rejects(501), 2u);
  EXPECT_EQ(Rejects(502), 1u);
}

// RFC 5321 §4.2.4: VERB is recognized and answered 502 (not implemented), not 500; the
// session goes on.
TEST_F(SessionTest, VerbIsRecognizedButNotImplemented) {
  Drain();
  EXPECT_EQ(Send("VERB\r\n"), "502 5.5.1 VERB command not implemented\r\n");
  EXPECT_EQ(Send("verb on\r\n"), "502 5.5.1 VERB command not implemented\r\n");
  EXPECT_EQ(Send("NOOP\r\n"), "250 2.0.0 Ok\r\n");
  EXPECT_FALSE(Session().wants_close());
}

TEST_F(SessionTest, SequenceErrors) {
  Drain();
  EXPECT_EQ(Send("MAIL FROM:<a@b.test>\r\n"), "503 5.5.1 Error: send HELO/EHLO first\r\n");
  EXPECT_EQ(Send("RCPT TO:<a@example.com>\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
  EXPECT_EQ(Send("DATA\r\n"), "503 5.5.1 Error: need RCPT command\r\n");
  Send("EHLO c\r\n");
  EXPECT_EQ(Send("RCPT TO:<a@example.com>\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
  EXPECT_EQ(Send("DATA\r\n"), "503 5.5.1 Error: need RCPT command\r\n");
  EXPECT_EQ(Send("MAIL FROM:<a@b.test>\r\n"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(Send("MAIL FROM:<a@b.test>\r\n"), "503 5.5.1 Error: nested MAIL command\r\n");
  EXPECT_EQ(Send("DATA\r\n"), "554 5.5.1 Error: no valid recipients\r\n");
  EXPECT_EQ(Send("RCPT TO:<a@example.com>\r\n"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(Send("DATA x\r\n"), "501 5.5.2 Syntax: DATA\r\n");
  EXPECT_EQ(Send("RSET\r\n"), "250 2.0.0 Ok\r\n");
  // RSET keeps the EHLO state.
  EXPECT_EQ(Send("RCPT TO:<a@example.com>\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
  EXPECT_EQ(Send("MAIL FROM:<a@b.test>\r\n"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(sink_.begun, 0);
}

TEST_F(SessionTest, MailSyntaxAndParameters) {
  Hello();
  EXPECT_EQ(Send("MAIL TO:<a@b.test>\r\n"), "501 5.5.2 Syntax: MAIL FROM:<address>\r\n");
  EXPECT_EQ(Send("MAIL FROM:a@b.test\r\n"), "501 5.5.2 Syntax: MAIL FROM:<address>\r\n");
  EXPECT_EQ(Send("MAIL FROM:<a@@b.test>\r\n"), "501 5.1.3 Bad sender address syntax\r\n");
  EXPECT_EQ(Send("MAIL FROM:<a@b.test> FOO=1\r\n"), "555 5.5.4 Unsupported parameter\r\n");
  EXPECT_EQ(Send("MAIL FROM:<a@b.test> SIZE=x\r\n"), "501 5.5.4 Bad parameter value\r\n");
  EXPECT_EQ(Send("MAIL FROM:<a@b.test> BODY=BINARYMIME\r\n"), "501 5.5.4 Bad parameter value\r\n");
  EXPECT_EQ(Send("MAIL FROM:<a@b.test> SIZE=10001\r\n"),
            "552 5.3.4 Message size exceeds fixed limit\r\n");
  EXPECT_EQ(Send("MAIL FROM:<a@b.test> SIZE=999999999999999999999999\r\n"),
            "552 5.3.4 Message size exceeds fixed limit\r\n");
  EXPECT_EQ(Send("MAIL FROM:<a@b.test> SIZE=99999999999999999999\r\n"),  // 20 digits
            "552 5.3.4 Message size exceeds fixed limit\r\n");
  EXPECT_EQ(Send("MAIL FROM:<a@b.test> SIZE=\r\n"), "501 5.5.4 Bad parameter value\r\n");
  EXPECT_EQ(Send("MAIL FROM:<\xc3\xa9@b.test>\r\n"),
            "553 5.6.7 Must declare SMTPUTF8 to send UTF8 address\r\n");
  EXPECT_EQ(Send("mail from: <a@b.test> size=10000 body=8bitmime smtputf8\r\n"),
            "250 2.1.0 Ok\r\n");
  Send("RSET\r\n");
  EXPECT_EQ(Send("MAIL FROM:<> SIZE=10\r\n"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(Rejects(501), 6u);
  EXPECT_EQ(Rejects(552), 3u);
  EXPECT_EQ(Rejects(553), 1u);
  EXPECT_EQ(Rejects(555), 1u);
}

// RFC 3461 DSN parameters of MAIL: RET and ENVID.
TEST_F(SessionTest, DeclaredSizeReservesTheRecordOnce) {
  Hello();
  std::string body;
  for (int i = 0; i < 75; ++i) body += std::string(78, 'x') + "\r\n";  // 6,000 bytes
  Send("MAIL FROM:<a@b.test> SIZE=6000\r\nRCPT TO:<r@example.com>\r\nDATA\r\n");
  EXPECT_GE(sink_.reserved_at_begin, 6000u);  // the body fits without growing
  EXPECT_GE(sink_.reserved_at_begin, RecordBytesToReserve(6000, 10000, 0));
  Send(body + ".\r\n");
  sink_.CompleteAll();
  ASSERT_EQ(sink_.committed.size(), 1u);
  // Without SIZE= nothing is reserved ahead: the record grows as the body comes.
  Send("MAIL FROM:<a@b.test>\r\nRCPT TO:<r@example.com>\r\nDATA\r\n");
  EXPECT_EQ(sink_.reserved_at_begin, 0u);
  Send(body + ".\r\n");
  sink_.CompleteAll();
  EXPECT_EQ(sink_.committed.size(), 2u);
}

TEST(RecordBytesToReserve, BoundedByTheLimitAndTheCap) {
  EXPECT_EQ(RecordBytesToReserve(0, 10000, 50), 0u);
  EXPECT_EQ(RecordBytesToReserve(6400, 0, 50), kRecordOverheadBytes + 50 + 6400 + 100);
  // A declared size beyond the limit is refused at MAIL; the reserve is bounded anyway.
  EXPECT_EQ(RecordBytesToReserve(64000, 6400, 0), kRecordOverheadBytes + 6400 + 100);
  // A client may declare up to the limit and send less: at most kReserveFromSizeMax ahead.
  const uint64_t big = uint64_t{1} << 30;
  EXPECT_EQ(RecordBytesToReserve(big, big, 0),
            kRecordOverheadBytes + kReserveFromSizeMax + kReserveFromSizeMax / 64);
}

TEST_F(SessionTest, MailDsnParameters) {
  Hello();
  struct Case {
    std::string params;
    absl::string_view reply;
  };
  const std::string envid_100(100, 'e');
  std::string envid_escaped;  // 100 characters decoded, 300 on the wire
  for (int i = 0; i < 100; ++i) envid_escaped += "+2B";
  const Case cases[] = {
      {"RET=FULL", "250 2.1.0 Ok\r\n"},
      {"ret=hdrs", "250 2.1.0 Ok\r\n"},
      {"RET=HDRS ENVID=abc", "250 2.1.0 Ok\r\n"},
      {"ENVID=Q+2B1+20x SIZE=10 RET=Full", "250 2.1.0 Ok\r\n"},
      {"ENVID=" + envid_100, "250 2.1.0 Ok\r\n"},
      {"ENVID=" + envid_escaped, "250 2.1.0 Ok\r\n"},
      {"RET=NONE", "501 5.5.4 Bad RET parameter: use RET=FULL or RET=HDRS\r\n"},
      {"RET=", "501 5.5.4 Bad RET parameter: use RET=FULL or RET=HDRS\r\n"},
      {"RET", "501 5.5.4 Bad RET parameter: use RET=FULL or RET=HDRS\r\n"},
      {"RET=FULL RET=FULL", "501 5.5.4 Duplicate RET parameter\r\n"},
      {"RET=FULL ret=HDRS", "501 5.5.4 Duplicate RET parameter\r\n"},
      {"ENVID=a ENVID=a", "501 5.5.4 Duplicate ENVID parameter\r\n"},
      {"ENVID=" + envid_100 + "e",
       "501 5.5.4 ENVID parameter too long: at most 100 characters\r\n"},
      {"ENVID=" + envid_escaped + "e",
       "501 5.5.4 ENVID parameter too long: at most 100 characters\r\n"},
      {"ENVID=", "501 5.5.4 Bad ENVID parameter: not printable xtext\r\n"},
      {"ENVID", "501 5.5.4 Bad ENVID parameter: not printable xtext\r\n"},
      {"ENVID=a=b", "501 5.5.4 Bad ENVID parameter: not printable xtext\r\n"},
      {"ENVID=a+2", "501 5.5.4 Bad ENVID parameter: not printable xtext\r\n"},
      {"ENVID=a+2b", "501 5.5.4 Bad ENVID parameter: not printable xtext\r\n"},
      {"ENVID=a+0D+0A", "501 5.5.4 Bad ENVID parameter: not printable xtext\r\n"},
      {"ENVID=\xc3\xa9", "501 5.5.4 Bad ENVID parameter: not printable xtext\r\n"},
      {"NOTIFY=NEVER", "555 5.5.4 Unsupported parameter\r\n"},  // a RCPT parameter
      {"RET=FULL FOO=1", "555 5.5.4 Unsupported parameter\r\n"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.params);
    EXPECT_EQ(Send("MAIL FROM:<a@b.test> " + c.params + "\r\n"), c.reply);
    Send("RSET\r\n");
  }
  EXPECT_EQ(Rejects(501), 15u);
  EXPECT_EQ(Rejects(555), 2u);
}

// RFC 3461 DSN parameters of RCPT: NOTIFY and ORCPT.
TEST_F(SessionTest, RcptDsnParameters) {
  config_.max_recipients = 100;
  Hello();
  Send("MAIL FROM:<a@b.test>\r\n");
  struct Case {
    std::string params;
    absl::string_view reply;
  };
  const Case cases[] = {
      {"NOTIFY=NEVER", "250 2.1.5 Ok\r\n"},
      {"NOTIFY=SUCCESS,FAILURE", "250 2.1.5 Ok\r\n"},
      {"notify=delay,Failure,success", "250 2.1.5 Ok\r\n"},
      {"ORCPT=rfc822;x@example.com", "250 2.1.5 Ok\r\n"},
      {"ORCPT=utf-8;\\x{E9}@example.com NOTIFY=DELAY", "250 2.1.5 Ok\r\n"},
      {"NOTIFY=NEVER,SUCCESS", "501 5.5.4 Bad NOTIFY parameter: NEVER must stand alone\r\n"},
      {"NOTIFY=FAILURE,NEVER", "501 5.5.4 Bad NOTIFY parameter: NEVER must stand alone\r\n"},
      {"NOTIFY=ALWAYS", "501 5.5.4 Bad NOTIFY parameter: use NEVER, or SUCCESS,FAILURE,DELAY\r\n"},
      {"NOTIFY=", "501 5.5.4 Bad NOTIFY parameter: use NEVER, or SUCCESS,FAILURE,DELAY\r\n"},
      {"NOTIFY", "501 5.5.4 Bad NOTIFY parameter: use NEVER, or SUCCESS,FAILURE,DELAY\r\n"},
      {"NOTIFY=SUCCESS,",
       "501 5.5.4 Bad NOTIFY parameter: use NEVER, or SUCCESS,FAILURE,DELAY\r\n"},
      {"NOTIFY=NEVER NOTIFY=NEVER", "501 5.5.4 Duplicate NOTIFY parameter\r\n"},
      {"NOTIFY=SUCCESS notify=FAILURE", "501 5.5.4 Duplicate NOTIFY parameter\r\n"},
      {"ORCPT=rfc822;x@example.com ORCPT=rfc822;y@example.com",
       "501 5.5.4 Duplicate ORCPT parameter\r\n"},
      {"ORCPT=x@example.com", "501 5.5.4 Bad ORCPT parameter: use addr-type;xtext\r\n"},
      {"ORCPT=;x@example.com", "501 5.5.4 Bad ORCPT parameter: use addr-type;xtext\r\n"},
      {"ORCPT=rfc822;", "501 5.5.4 Bad ORCPT parameter: use addr-type;xtext\r\n"},
      {"ORCPT=rfc822;a+2", "501 5.5.4 Bad ORCPT parameter: use addr-type;xtext\r\n"},
      {"ORCPT=rfc822;a+0A", "501 5.5.4 Bad ORCPT parameter: use addr-type;xtext\r\n"},
      {"ORCPT", "501 5.5.4 Bad ORCPT parameter: use addr-type;xtext\r\n"},
      {"RET=FULL", "555 5.5.4 Unsupported parameter\r\n"},  // a MAIL parameter
      {"NOTIFY=NEVER FOO", "555 5.5.4 Unsupported parameter\r\n"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.params);
    EXPECT_EQ(Send("RCPT TO:<x@example.com> " + c.params + "\r\n"), c.reply);
  }
  EXPECT_EQ(Rejects(501), 15u);
  EXPECT_EQ(Rejects(555), 2u);
  // Only the accepted ones are recipients.
  Send("DATA\r\n.\r\n");
  ASSERT_EQ(sink_.pending.size(), 1u);
  EXPECT_TRUE(absl::StartsWith(sink_.pending[0].record,
                               "ENVELOPE helo=client.test client=192.0.2.9 from=<a@b.test> "
                               "to=x@example.com{notify=1 orcpt=},x@example.com{notify=6 orcpt=},"
                               "x@example.com{notify=14 orcpt=},"
                               "x@example.com{notify=0 orcpt=rfc822;x@example.com},"
                               "x@example.com{notify=8 orcpt=utf-8;\\x{E9}@example.com} body=0 "
                               "utf8=0 size=0\n"))
      << sink_.pending[0].record;
}

// The longest ORCPT a command line can carry is below kOrcptBytesMax: the line limit comes
// first (500 5.5.2), and the session stays in sync.
TEST_F(SessionTest, OrcptBoundedByTheCommandLine) {
  Hello();
  Send("MAIL FROM:<a@b.test>\r\n");
  const std::string head = "RCPT TO:<x@example.com> ORCPT=rfc822;";
  const std::string fits = head + std::string(kCommandLineBytesMax - head.size() - 2, 'o');
  EXPECT_EQ(Send(fits + "\r\n"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(Send(fits + "o\r\nNOOP\r\n"), "500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n");
}

// DSN is offered after EHLO only: after HELO its parameters are unknown ones.
TEST_F(SessionTest, DsnParametersOnlyAfterEhlo) {
  Session();
  Send("HELO old.test\r\n");
  EXPECT_EQ(Send("MAIL FROM:<a@b.test> RET=FULL\r\n"), "555 5.5.4 Unsupported parameter\r\n");
  EXPECT_EQ(Send("MAIL FROM:<a@b.test> ENVID=x\r\n"), "555 5.5.4 Unsupported parameter\r\n");
  EXPECT_EQ(Send("MAIL FROM:<a@b.test>\r\n"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(Send("RCPT TO:<x@example.com> NOTIFY=NEVER\r\n"),
            "555 5.5.4 Unsupported parameter\r\n");
  EXPECT_EQ(Send("RCPT TO:<x@example.com> ORCPT=rfc822;x@example.com\r\n"),
            "555 5.5.4 Unsupported parameter\r\n");
  EXPECT_EQ(Send("RCPT TO:<x@example.com>\r\n"), "250 2.1.5 Ok\r\n");
  // EHLO later in the session offers it.
  Send("EHLO new.test\r\n");
  EXPECT_EQ(Send("MAIL FROM:<a@b.test> RET=FULL\r\nRCPT TO:<x@example.com> NOTIFY=NEVER\r\n"),
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
}

// RET, ENVID, NOTIFY and ORCPT reach the sink with their transaction, ENVID and ORCPT as
// received (xtext), and do not outlive it.
TEST_F(SessionTest, DsnParametersReachTheSink) {
  Hello();
  EXPECT_EQ(Send("MAIL FROM:<a@b.test> RET=HDRS ENVID=id+2B1\r\n"
                 "RCPT TO:<x@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x+2Bt@example.com\r\n"
                 "RCPT TO:<\"y z\"@example.com> NOTIFY=NEVER\r\n"
                 "RCPT TO:<w@example.com>\r\nDATA\r\n.\r\n"),
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
            "354 End data with <CR><LF>.<CR><LF>\r\n");
  // A transaction reset by RSET, and one without parameters after it.
  Send(
      "MAIL FROM:<a@b.test> RET=FULL ENVID=gone\r\n"
      "RCPT TO:<x@example.com> NOTIFY=DELAY ORCPT=rfc822;gone@example.com\r\nRSET\r\n"
      "MAIL FROM:<c@d.test>\r\nRCPT TO:<v@example.com>\r\nDATA\r\n.\r\n");
  ASSERT_EQ(sink_.pending.size(), 2u);
  EXPECT_TRUE(absl::StartsWith(
      sink_.pending[0].record,
      "ENVELOPE helo=client.test client=192.0.2.9 from=<a@b.test> "
      "to=x@example.com{notify=6 orcpt=rfc822;x+2Bt@example.com},y z@example.com{notify=1 "
      "orcpt=},w@example.com body=0 utf8=0 size=0 ret=2 envid=id+2B1\n"
      "Received: from client.test ([192.0.2.9])\r\n"
      "\tby mx.tern.test (Tern) with ESMTP id 0000000000ABC000\r\n"
      "\tfor <x@example.com>;"))
      << sink_.pending[0].record;
  EXPECT_TRUE(absl::StartsWith(sink_.pending[1].record,
                               "ENVELOPE helo=client.test client=192.0.2.9 from=<c@d.test> "
                               "to=v@example.com body=0 utf8=0 size=0\n"))
      << sink_.pending[1].record;
}

TEST_F(SessionTest, SinkNotAcceptingMail) {
  Hello();
  sink_.accepting = absl::ResourceExhaustedError("disk full");
  EXPECT_EQ(Send("MAIL FROM:<a@b.test>\r\n"), "452 4.3.1 Insufficient system storage\r\n");
  sink_.accepting = absl::UnavailableError("spool broken");
  EXPECT_EQ(Send("MAIL FROM:<a@b.test>\r\n"),
            "451 4.3.0 Error: temporarily unable to accept mail\r\n");
  sink_.accepting = absl::OkStatus();
  EXPECT_EQ(Send("MAIL FROM:<a@b.test>\r\n"), "250 2.1.0 Ok\r\n");
}

TEST_F(SessionTest, RcptSyntaxRelayAndLimits) {
  Hello();
  Send("MAIL FROM:<a@b.test>\r\n");
  EXPECT_EQ(Send("RCPT FROM:<a@example.com>\r\n"), "501 5.5.2 Syntax: RCPT TO:<address>\r\n");
  EXPECT_EQ(Send("RCPT TO:<>\r\n"), "501 5.1.3 Bad recipient address syntax\r\n");
  EXPECT_EQ(Send("RCPT TO:<a@example.com> FOO=BAR\r\n"), "555 5.5.4 Unsupported parameter\r\n");
  EXPECT_EQ(Send("RCPT TO:<a@other.test>\r\n"), "554 5.7.1 Relay access denied\r\n");
  EXPECT_EQ(Send("RCPT TO:<a%other.test@example.com>\r\n"), "554 5.7.1 Relay access denied\r\n");
  EXPECT_EQ(Send("RCPT TO:<other.test!a@example.com>\r\n"), "554 5.7.1 Relay access denied\r\n");
  EXPECT_EQ(Send("RCPT TO:<\"a@other.test\"@example.com>\r\n"),
            "554 5.7.1 Relay access denied\r\n");
  EXPECT_EQ(Send("RCPT TO:<\xc3\xa9@example.com>\r\n"),
            "553 5.6.7 Must declare SMTPUTF8 to send UTF8 address\r\n");
  EXPECT_EQ(Send("RCPT TO:<Postmaster>\r\n"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(Send("RCPT TO: <b@EXAMPLE.com>\r\n"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(Send("RCPT TO:<c@example.com>\r\nRCPT TO:<d@example.com>\r\n"
                 "RCPT TO:<e@example.com>\r\nRCPT TO:<f@example.com>\r\n"),
            "250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n452 4.5.3 Too many recipients\r\n");
  EXPECT_EQ(Rejects(554), 4u);
  // The transaction goes on with the first five.
  EXPECT_EQ(Send("DATA\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
  Send("x\r\n.\r\n");
  sink_.CompleteAll();
  ASSERT_EQ(sink_.committed.size(), 1u);
  EXPECT_TRUE(absl::StartsWith(
      sink_.committed[0].record,
      "ENVELOPE helo=client.test client=192.0.2.9 from=<a@b.test> "
      "to=Postmaster,b@EXAMPLE.com,c@example.com,d@example.com,e@example.com body=0"))
      << sink_.committed[0].record;
}

// Refuses one address for one sender; records what it was asked.
class OneAddressScreen final : public RecipientScreen {
 public:
  bool Refuses(absl::string_view sender, absl::string_view recipient,
               std::string* reply) const override {
    asked.emplace_back(absl::StrCat(sender, " -> ", recipient));
    if (recipient != "gone@example.com") return false;
    *reply = "550 5.1.1 <gone@example.com>: recipient suppressed (hard-bounce, 2026-12-06)\r\n";
    return true;
  }
  mutable std::vector<std::string> asked;
};

TEST_F(SessionTest, ScreenedRecipientIsRefusedAndTheTransactionGoesOn) {
  OneAddressScreen screen;
  config_.recipient_screen = &screen;
  Hello();
  Send("MAIL FROM:<a@b.test>\r\n");
  EXPECT_EQ(Send("RCPT TO:<gone@example.com>\r\n"),
            "550 5.1.1 <gone@example.com>: recipient suppressed (hard-bounce, 2026-12-06)\r\n");
  EXPECT_EQ(Send("RCPT TO:<ok@example.com>\r\n"), "250 2.1.5 Ok\r\n");
  // Asked after the relay checks only: a relay refusal never reaches the screen.
  EXPECT_EQ(Send("RCPT TO:<x@other.test>\r\n"), "554 5.7.1 Relay access denied\r\n");
  EXPECT_EQ(screen.asked, (std::vector<std::string>{"a@b.test -> gone@example.com",
                                                    "a@b.test -> ok@example.com"}));
  EXPECT_EQ(counters_.recipients_screened_out.load(), 1u);
  EXPECT_EQ(Rejects(550), 1u);
  EXPECT_EQ(Send("DATA\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
  Send("x\r\n.\r\n");
  sink_.CompleteAll();
  ASSERT_EQ(sink_.committed.size(), 1u);
  EXPECT_TRUE(absl::StrContains(sink_.committed[0].record, "to=ok@example.com body=0"))
      << sink_.committed[0].record;
}

TEST_F(SessionTest, RelayClientMayRelayAnywhere) {
  client_.may_relay = true;
  Hello();
  Send("MAIL FROM:<a@b.test>\r\n");
  EXPECT_EQ(Send("RCPT TO:<a@other.test>\r\n"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(Send("RCPT TO:<a%c.test@other.test>\r\n"), "250 2.1.5 Ok\r\n");
}

TEST_F(SessionTest, MessageIsStoredWithReceivedHeaderAndQueuedAfterCommit) {
  Hello();
  EXPECT_EQ(Send("MAIL FROM:<a@b.test> SIZE=100\r\nRCPT TO:<x@example.com>\r\n"
                 "RCPT TO:<\"y z\"@example.com>\r\nDATA\r\n"),
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
            "354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(Session().current_timeout(), config_.data_timeout);
  EXPECT_EQ(Send("Subject: hi\r\n\r\n..leading dot\r\nend\r\n.\r\n"), "");
  EXPECT_EQ(Session().pending_commits(), 1u);
  EXPECT_EQ(Session().current_timeout(), config_.idle_timeout);
  ASSERT_EQ(sink_.pending.size(), 1u);
  EXPECT_EQ(sink_.pending[0].record,
            "ENVELOPE helo=client.test client=192.0.2.9 from=<a@b.test> "
            "to=x@example.com,y z@example.com body=0 utf8=0 size=100\n"
            "Received: from client.test ([192.0.2.9])\r\n"
            "\tby mx.tern.test (Tern) with ESMTP id 0000000000ABC000\r\n"
            "\tfor <x@example.com>; Tue, 14 Nov 2023 22:13:20 +0000\r\n"
            "Subject: hi\r\n\r\n..leading dot\r\nend\r\n");
  sink_.CompleteNext();
  EXPECT_EQ(Drain(), "250 2.0.0 Ok: queued as 0000000000ABC000\r\n");
  EXPECT_EQ(Session().pending_commits(), 0u);
  EXPECT_EQ(counters_.messages_accepted.load(), 1u);
  EXPECT_EQ(counters_.bytes_accepted.load(), 35u);
}

TEST_F(SessionTest, ReceivedHeaderVariants) {
  client_.address = "2001:db8::5";
  Session();
  Send("HELO old.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<x@example.com>\r\nDATA\r\n.\r\n");
  Send(
      "EHLO new.test\r\nMAIL FROM:<a@b.test> SMTPUTF8\r\nRCPT TO:<x@example.com>\r\n"
      "DATA\r\n.\r\n");
  ASSERT_EQ(sink_.pending.size(), 2u);
  EXPECT_TRUE(absl::StrContains(sink_.pending[0].record,
                                "Received: from old.test ([IPv6:2001:db8::5])\r\n"
                                "\tby mx.tern.test (Tern) with SMTP id"));
  EXPECT_TRUE(absl::StrContains(sink_.pending[1].record, "(Tern) with UTF8SMTP id"));
  EXPECT_TRUE(absl::EndsWith(sink_.pending[1].record, "+0000\r\n"));  // empty body
}

TEST_F(SessionTest, StartTlsOfferedOnlyWhenAvailableAndNotActive) {
  Drain();
  EXPECT_EQ(Send("STARTTLS\r\n"), "502 5.5.1 Error: STARTTLS not available\r\n");
  session_.reset();
  client_.starttls_offered = true;
  Drain();
  EXPECT_EQ(Send("EHLO client.test\r\n"),
            "250-mx.tern.test\r\n250-PIPELINING\r\n250-SIZE 10000\r\n250-STARTTLS\r\n"
            "250-8BITMIME\r\n250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n"
            "250 CHUNKING\r\n");
  EXPECT_EQ(Send("STARTTLS now\r\n"), "501 5.5.4 Syntax: STARTTLS\r\n");
  EXPECT_EQ(Send("MAIL FROM:<a@b.test>\r\nSTARTTLS\r\n"),
            "250 2.1.0 Ok\r\n503 5.5.1 Error: MAIL transaction in progress\r\n");
  EXPECT_FALSE(Session().wants_tls());
}

// CVE-2011-0411: commands pipelined behind STARTTLS in the same read are never executed,
// neither before nor after the handshake; the session forgets the EHLO (RFC 3207 §4.2).
TEST_F(SessionTest, StartTlsDropsPipelinedPlaintextAndForgetsEhlo) {
  client_.starttls_offered = true;
  Hello();
  EXPECT_EQ(Send("STARTTLS\r\nRSET\r\nMAIL FROM:<evil@b.test>\r\nRCPT TO:<x@example.com>\r\n"),
            "220 2.0.0 Ready to start TLS\r\n");
  EXPECT_TRUE(Session().wants_tls());
  EXPECT_FALSE(Session().tls_active());
  EXPECT_EQ(Send("NOOP\r\n"), "");  // ignored until TLS is up
  Session().OnTlsStarted();
  EXPECT_FALSE(Session().wants_tls());
  EXPECT_TRUE(Session().tls_active());
  // Nothing of the injected transaction survived, and EHLO must be said again.
  EXPECT_EQ(Send("MAIL FROM:<a@b.test>\r\n"), "503 5.5.1 Error: send HELO/EHLO first\r\n");
  EXPECT_EQ(Send("EHLO client.test\r\n"), kEhloReply);  // no STARTTLS any more
  EXPECT_EQ(Send("STARTTLS\r\n"), "554 5.5.1 Error: TLS already active\r\n");
  EXPECT_EQ(Send("MAIL FROM:<a@b.test>\r\nRCPT TO:<x@example.com>\r\nDATA\r\nhi\r\n.\r\n"),
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
  ASSERT_EQ(sink_.pending.size(), 1u);
  EXPECT_TRUE(absl::StrContains(sink_.pending[0].record, "from=<a@b.test>"));
  EXPECT_TRUE(absl::StrContains(sink_.pending[0].record, "(Tern) with ESMTPS id"));
  EXPECT_EQ(Rejects(554), 1u);
}

TEST_F(SessionTest, StartTlsLineSplitAcrossReadsStillDropsTheRest) {
  client_.starttls_offered = true;
  Hello();
  EXPECT_EQ(Send("STARTT"), "");
  EXPECT_EQ(Send("LS\r\nQUIT\r\n"), "220 2.0.0 Ready to start TLS\r\n");
  EXPECT_FALSE(Session().wants_close());  // the QUIT was dropped
  Session().OnTlsStarted();
  EXPECT_EQ(Send("QUIT\r\n"), "221 2.0.0 Bye\r\n");
}

TEST_F(SessionTest, ImplicitTlsSessionNeverOffersStartTls) {
  client_.starttls_offered = false;
  client_.tls = true;
  Hello();
  EXPECT_EQ(Send("STARTTLS\r\n"), "554 5.5.1 Error: TLS already active\r\n");
  Send("MAIL FROM:<a@b.test> SMTPUTF8\r\nRCPT TO:<x@example.com>\r\nDATA\r\n.\r\n");
  ASSERT_EQ(sink_.pending.size(), 1u);
  EXPECT_TRUE(absl::StrContains(sink_.pending[0].record, "(Tern) with UTF8SMTPS id"));
}

TEST_F(SessionTest, TimeoutWhileWaitingForTlsCancelsIt) {
  client_.starttls_offered = true;
  Hello();
  EXPECT_EQ(Send("STARTTLS\r\n"), "220 2.0.0 Ready to start TLS\r\n");
  Session().OnTimeout();
  EXPECT_FALSE(Session().wants_tls());
  EXPECT_TRUE(Session().wants_close());
}

// An AuthBackend whose answers the test gives.
class FakeAuth : public AuthBackend {
 public:
  void Check(absl::string_view client_address, std::string user, std::string password,
             absl::AnyInvocable<void(Result)> done) override {
    asked.push_back(user + "/" + password);
    pending.push_back(std::move(done));
  }
  bool OwnsSender(absl::string_view user, absl::string_view sender) const override {
    return sender == std::string(user) + "@example.com";
  }
  void Answer(Result result) {
    ASSERT_FALSE(pending.empty());
    auto done = std::move(pending.front());
    pending.erase(pending.begin());
    done(result);
  }
  std::vector<std::string> asked;
  std::vector<absl::AnyInvocable<void(Result)>> pending;
};

std::string B64(absl::string_view raw) { return absl::Base64Escape(raw); }

class AuthSessionTest : public SessionTest {
 protected:
  AuthSessionTest() {
    config_.auth = &auth_;
    client_.auth_offered = true;
    client_.auth_required = true;
    client_.tls = true;
  }
  ~AuthSessionTest() override {
    while (!auth_.pending.empty()) auth_.Answer(AuthBackend::Result::kRejected);
  }
  FakeAuth auth_;
};

TEST_F(AuthSessionTest, OfferedOnlyUnderTlsAnd538Without) {
  client_.tls = false;
  client_.starttls_offered = true;
  Hello();
  EXPECT_EQ(Send("AUTH PLAIN " + B64(std::string("\0u\0p", 4)) + "\r\n"),
            "538 5.7.11 Encryption required for requested authentication mechanism\r\n");
  EXPECT_TRUE(auth_.asked.empty());
  EXPECT_EQ(Send("STARTTLS\r\n"), "220 2.0.0 Ready to start TLS\r\n");
  Session().OnTlsStarted();
  EXPECT_TRUE(absl::StrContains(Send("EHLO client.test\r\n"), "250-AUTH PLAIN LOGIN\r\n"));
}

TEST_F(AuthSessionTest, NotOfferedOnThisListener) {
  client_.auth_offered = false;
  client_.auth_required = false;
  Hello();
  EXPECT_EQ(Send("AUTH PLAIN\r\n"), "502 5.5.1 Error: authentication not enabled\r\n");
}

TEST_F(AuthSessionTest, PlainWithPipelinedMailHeldUntilTheAnswer) {
  Hello();
  EXPECT_EQ(Send("MAIL FROM:<u@example.com>\r\n"), "530 5.7.0 Authentication required\r\n");
  EXPECT_EQ(Send("AUTH PLAIN " + B64(std::string("\0u\0pw", 5)) +
                 "\r\nMAIL FROM:<u@example.com>\r\nRCPT TO:<x@anywhere.test>\r\n"),
            "");
  ASSERT_EQ(auth_.asked, std::vector<std::string>{"u/pw"});
  EXPECT_TRUE(Session().auth_pending());
  EXPECT_EQ(Send("DATA\r\n"), "");  // still held
  auth_.Answer(AuthBackend::Result::kAccepted);
  EXPECT_FALSE(Session().auth_pending());
  // Relaying to any domain once authenticated (192.0.2.9 is not a relay client).
  EXPECT_EQ(Drain(),
            "235 2.7.0 Authentication successful\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
            "354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(Send("hi\r\n.\r\n"), "");
  ASSERT_EQ(sink_.pending.size(), 1u);
  EXPECT_TRUE(absl::StrContains(sink_.pending[0].record, "(Tern) with ESMTPSA id"));
  EXPECT_EQ(Send("AUTH PLAIN\r\n"), "");  // commit pending: the reply queues behind it
  sink_.CompleteNext();
  EXPECT_TRUE(absl::StrContains(Drain(), "503 5.5.1 Error: already authenticated\r\n"));
}

TEST_F(AuthSessionTest, LoginPromptsAndAbort) {
  Hello();
  EXPECT_EQ(Send("AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(Send(B64("u") + "\r\n"), "334 UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(Send(B64("pw") + "\r\n"), "");
  EXPECT_EQ(auth_.asked, std::vector<std::string>{"u/pw"});
  auth_.Answer(AuthBackend::Result::kRejected);
  EXPECT_EQ(Drain(), "535 5.7.8 Error: authentication failed\r\n");
  EXPECT_EQ(Send("AUTH LOGIN " + B64("u") + "\r\n"), "334 UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(Send("*\r\n"), "501 5.7.0 Authentication aborted\r\n");
  EXPECT_EQ(Send("AUTH PLAIN\r\n"), "334 \r\n");
  EXPECT_EQ(Send("%%%\r\n"), "501 5.5.2 Error: cannot decode response\r\n");
  EXPECT_EQ(Send("AUTH CRAM-MD5\r\n"),
            "504 5.5.4 Unrecognized authentication type: use PLAIN or LOGIN\r\n");
}

TEST_F(AuthSessionTest, BadIdentitiesAndRepeatedFailuresClose) {
  Hello();
  // CR inside the identity: refused without asking the backend, counted as a failure.
  EXPECT_EQ(Send("AUTH PLAIN " + B64(std::string("\0u\rx\0pw", 7)) + "\r\n"),
            "535 5.7.8 Error: authentication failed\r\n");
  EXPECT_TRUE(auth_.asked.empty());
  Send("AUTH PLAIN " + B64(std::string("\0u\0bad", 6)) + "\r\n");
  auth_.Answer(AuthBackend::Result::kRejected);
  EXPECT_EQ(Drain(), "535 5.7.8 Error: authentication failed\r\n");
  Send("AUTH PLAIN " + B64(std::string("\0u\0bad", 6)) + "\r\n");
  auth_.Answer(AuthBackend::Result::kRejected);
  EXPECT_EQ(Drain(),
            "535 5.7.8 Error: authentication failed\r\n"
            "421 4.7.0 mx.tern.test Error: too many authentication failures\r\n");
  EXPECT_TRUE(Session().wants_close());
}

TEST_F(AuthSessionTest, ThrottledAndTimeoutWhilePending) {
  Hello();
  Send("AUTH PLAIN " + B64(std::string("\0u\0pw", 5)) + "\r\n");
  auth_.Answer(AuthBackend::Result::kThrottled);
  EXPECT_EQ(Drain(), "454 4.7.0 Temporary authentication failure, try again later\r\n");
  Send("AUTH PLAIN " + B64(std::string("\0u\0pw", 5)) + "\r\n");
  Session().OnTimeout();
  EXPECT_TRUE(Session().auth_pending());  // the owner keeps the session until the answer
  auth_.Answer(AuthBackend::Result::kAccepted);
  EXPECT_FALSE(Session().auth_pending());
  EXPECT_EQ(Drain(), "421 4.4.2 mx.tern.test Error: timeout exceeded\r\n");  // no 235
}

TEST_F(AuthSessionTest, SenderLoginMatch) {
  config_.sender_login_match = true;
  Hello();
  Send("AUTH PLAIN " + B64(std::string("\0u\0pw", 5)) + "\r\n");
  auth_.Answer(AuthBackend::Result::kAccepted);
  Drain();
  EXPECT_EQ(Send("MAIL FROM:<boss@example.com>\r\n"),
            "553 5.7.1 <boss@example.com>: Sender address rejected: not owned by user u\r\n");
  EXPECT_EQ(Send("MAIL FROM:<u@example.com>\r\n"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(Send("RSET\r\nMAIL FROM:<>\r\n"), "250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n");
}

TEST_F(SessionTest, BeginMessageFailureAnswers451InsteadOf354) {
  Hello();
  sink_.begin_status = absl::UnavailableError("no segment");
  EXPECT_EQ(Send("MAIL FROM:<a@b.test>\r\nRCPT TO:<x@example.com>\r\nDATA\r\n"),
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n451 4.3.0 Error: queue file write error\r\n");
  sink_.begin_status = absl::OkStatus();
  EXPECT_EQ(Send("DATA\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
}

TEST_F(SessionTest, FullDiskAtDataOrBdatAnswers452) {
  Hello();
  sink_.begin_status = absl::ResourceExhaustedError("fallocate: No space left on device");
  EXPECT_EQ(Send("MAIL FROM:<a@b.test>\r\nRCPT TO:<x@example.com>\r\nDATA\r\n"),
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n452 4.3.1 Insufficient system storage\r\n");
  EXPECT_EQ(Send("BDAT 3 LAST\r\nabc"), "452 4.3.1 Insufficient system storage\r\n");
  sink_.begin_status = absl::OkStatus();
}

// The segment a message needs may turn out not to fit only after its data arrived (the
// next segment cannot be preallocated): still 452 4.3.1, not 451 4.3.0.
TEST_F(SessionTest, FullDiskAtCommitAnswers452) {
  Hello();
  Send("MAIL FROM:<a@b.test>\r\nRCPT TO:<x@example.com>\r\nDATA\r\n");
  Send("one\r\n.\r\n");
  EXPECT_EQ(Drain(), "");
  sink_.CompleteNext(absl::ResourceExhaustedError("fallocate: No space left on device"));
  EXPECT_EQ(Drain(), "452 4.3.1 Insufficient system storage\r\n");
  EXPECT_EQ(Rejects(452), 1u);
  EXPECT_EQ(Rejects(451), 0u);
}

TEST_F(SessionTest, CommitFailureAnswers451AndOrderIsKept) {
  Hello();
  const std::string message = "MAIL FROM:<a@b.test>\r\nRCPT TO:<x@example.com>\r\nDATA\r\n";
  Send(message);
  Send("one\r\n.\r\n" + message);
  Send("two\r\n.\r\nNOOP\r\n");
  EXPECT_EQ(Session().pending_commits(), 2u);
  EXPECT_EQ(Drain(), "");
  sink_.CompleteNext(absl::DataLossError("fdatasync failed"));
  EXPECT_EQ(Drain(),
            "451 4.3.0 Error: queue file write error\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
            "354 End data with <CR><LF>.<CR><LF>\r\n");
  sink_.CompleteNext();
  EXPECT_EQ(Drain(), "250 2.0.0 Ok: queued as 0000000000ABC001\r\n250 2.0.0 Ok\r\n");
  EXPECT_EQ(Rejects(451), 1u);
  EXPECT_EQ(counters_.messages_rejected.load(), 1u);
  EXPECT_EQ(counters_.messages_accepted.load(), 1u);
}

TEST_F(SessionTest, PipelinedMailAfterEndOfDataWaitsBehindPending250) {
  Hello();
  Send("MAIL FROM:<a@b.test>\r\nRCPT TO:<x@example.com>\r\nDATA\r\n");
  EXPECT_EQ(Send("body\r\n.\r\nMAIL FROM:<c@d.test>\r\nRCPT TO:<y@example.com>\r\n"), "");
  EXPECT_EQ(Session().output().pending_bytes(), 28u);
  sink_.CompleteNext();
  EXPECT_EQ(Drain(),
            "250 2.0.0 Ok: queued as 0000000000ABC000\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
}

TEST_F(SessionTest, SmugglingVariantsNeverEndData) {
  for (const char* variant :
       {"\n.\r\n", "\r.\r\n", "\n.\n", "\r\n.\n", "\n.\r", "\r.\r", "\r\n.\r"}) {
    SCOPED_TRACE(::testing::PrintToString(std::string(variant)));
    sink_.CompleteAll();
    session_.reset();
    Hello();
    Send("MAIL FROM:<a@b.test>\r\nRCPT TO:<x@example.com>\r\nDATA\r\n");
    EXPECT_EQ(Send(absl::StrCat("a", variant,
                                "MAIL FROM:<evil@b.test>\r\nRCPT TO:<v@example.com>\r\nDATA\r\n"
                                "smuggled\r\n")),
              "");
    EXPECT_EQ(Send("\r\n.\r\nNOOP\r\n"),
              "554 5.6.0 Message contains bare CR or LF\r\n250 2.0.0 Ok\r\n");
    EXPECT_TRUE(sink_.pending.empty());
  }
  EXPECT_EQ(counters_.messages_rejected.load(), 7u);
}

TEST_F(SessionTest, BodyFlawsAndLimits) {
  Hello();
  const std::string start = "MAIL FROM:<a@b.test>\r\nRCPT TO:<x@example.com>\r\nDATA\r\n";
  auto run = [&](const std::string& body) {
    Send(start);
    std::string out = Send(body + "\r\n.\r\n");
    sink_.CompleteAll();
    return out + Drain();
  };
  EXPECT_EQ(run(std::string("a\0b", 3)), "554 5.6.0 Message contains NUL\r\n");
  EXPECT_EQ(run(std::string(999, 'x')), "500 5.5.2 Line too long\r\n");
  EXPECT_EQ(run(std::string(998, 'x')), "250 2.0.0 Ok: queued as 0000000000ABC002\r\n");
  // Size: the stored body (with its final CRLF) against max_message_size = 10000.
  EXPECT_EQ(
      run(std::string(99, 'y') + "\r\n" + std::string(98, 'z') + "\r\n" + std::string(9799, 'q')),
      "500 5.5.2 Line too long\r\n");
  std::string body;
  while (body.size() + 100 <= 10000) body += std::string(98, 'b') + "\r\n";
  ASSERT_EQ(body.size(), 10000u);
  body.resize(body.size() - 2);  // run() adds the CRLF
  EXPECT_EQ(run(body), "250 2.0.0 Ok: queued as 0000000000ABC004\r\n");
  EXPECT_EQ(run(body + "x"), "552 5.3.4 Message size exceeds fixed limit\r\n");
  EXPECT_EQ(run(body + "\r\n" + body), "552 5.3.4 Message size exceeds fixed limit\r\n");
  EXPECT_EQ(sink_.committed.size(), 2u);
  EXPECT_EQ(sink_.committed[1].record.size() - sink_.committed[1].record.find("+0000\r\n") - 7,
            10000u);
}

TEST_F(SessionTest, CommandLineLimitStaysInSync) {
  Drain();
  const std::string ok = "NOOP " + std::string(505, 'a') + "\r\n";  // 512 with CRLF
  const std::string too_long = "NOOP " + std::string(506, 'a') + "\r\n";
  ASSERT_EQ(ok.size(), kCommandLineBytesMax);
  EXPECT_EQ(Send(ok), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(Send(too_long + "NOOP\r\n"), "500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n");
  EXPECT_EQ(Send("MAIL FROM:<" + std::string(5000, 'a') + "@b.test>\r\nNOOP\r\n"),
            "500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n");
  // Split in the middle of an overlong line and of a full-size line.
  Send(too_long.substr(0, 300));
  EXPECT_EQ(Send(too_long.substr(300)), "500 5.5.2 Line too long\r\n");
  Send(ok.substr(0, 511));
  EXPECT_EQ(Send(ok.substr(511)), "250 2.0.0 Ok\r\n");
}

TEST_F(SessionTest, InvalidCharactersInCommands) {
  Drain();
  EXPECT_EQ(Send(std::string("NO\0OP\r\n", 7)), "500 5.5.2 Invalid character in command\r\n");
  EXPECT_EQ(Send("NOOP\n"), "500 5.5.2 Invalid character in command\r\n");
  EXPECT_EQ(Send("NO\rOP\r\n"), "500 5.5.2 Invalid character in command\r\n");
  EXPECT_EQ(Send("NOOP\r\r\n"), "500 5.5.2 Invalid character in command\r\n");
  EXPECT_EQ(Send("NOOP\r\n"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(Rejects(500), 4u);
}

TEST_F(SessionTest, BdatStuffsAndCompletesCrLf) {
  Hello();
  EXPECT_EQ(Send("MAIL FROM:<a@b.test>\r\nRCPT TO:<x@example.com>\r\nBDAT 6\r\n.a\r\n.b"
                 "BDAT 5 LAST\r\nc\r\n.d"),
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 6 bytes received\r\n");
  ASSERT_EQ(sink_.pending.size(), 1u);
  const std::string& record = sink_.pending[0].record;
  EXPECT_TRUE(absl::EndsWith(record, "+0000\r\n..a\r\n..bc\r\n..d\r\n")) << record;
  sink_.CompleteNext();
  EXPECT_EQ(Drain(), "250 2.0.0 Ok: queued as 0000000000ABC000\r\n");
  EXPECT_EQ(counters_.bytes_accepted.load(), 11u);  // as received
}

TEST_F(SessionTest, BdatErrors) {
  Hello();
  // Without a transaction the chunk is consumed, not executed.
  EXPECT_EQ(Send("BDAT 6\r\nQUIT\r\nNOOP\r\n"),
            "503 5.5.1 Error: need MAIL command\r\n250 2.0.0 Ok\r\n");
  EXPECT_EQ(Send("MAIL FROM:<a@b.test>\r\nBDAT 6 LAST\r\nQUIT\r\n"),
            "250 2.1.0 Ok\r\n554 5.5.1 Error: no valid recipients\r\n");
  EXPECT_EQ(Send("RCPT TO:<x@example.com>\r\nBDAT 3\r\nabcDATA\r\nRCPT TO:<y@example.com>\r\n"),
            "250 2.1.5 Ok\r\n250 2.0.0 3 bytes received\r\n503 5.5.1 Error: DATA after BDAT\r\n"
            "503 5.5.1 Error: RCPT after BDAT\r\n");
  EXPECT_EQ(Send("BDAT 3 LAST\r\nd\ne"), "554 5.6.0 Message contains bare CR or LF\r\n");
  std::string lines;
  for (int i = 0; i < 60; ++i) lines += std::string(98, 'a') + "\r\n";
  EXPECT_EQ(Send("MAIL FROM:<a@b.test>\r\nRCPT TO:<x@example.com>\r\nBDAT 6000\r\n"),
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
  EXPECT_EQ(Send(lines), "250 2.0.0 6000 bytes received\r\n");
  EXPECT_EQ(Send("BDAT 5000 LAST\r\n" + lines.substr(0, 5000)),
            "552 5.3.4 Message size exceeds fixed limit\r\n");
  EXPECT_EQ(Send("MAIL FROM:<a@b.test>\r\nRCPT TO:<x@example.com>\r\nBDAT 0 LAST\r\n"),
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
  sink_.CompleteAll();
  EXPECT_EQ(Drain(), "250 2.0.0 Ok: queued as 0000000000ABC002\r\n");
  EXPECT_TRUE(absl::EndsWith(sink_.committed[0].record, "+0000\r\n"));
  EXPECT_EQ(Send("BDAT x\r\nNOOP\r\n"), "501 5.5.4 Syntax: BDAT count [LAST]\r\n");
  EXPECT_TRUE(Session().wants_close());
}

TEST_F(SessionTest, TimeoutAndShutdown) {
  Hello();
  EXPECT_EQ(Session().current_timeout(), absl::Seconds(300));
  Session().OnTimeout();
  EXPECT_EQ(Drain(), "421 4.4.2 mx.tern.test Error: timeout exceeded\r\n");
  EXPECT_TRUE(Session().wants_close());
  session_.reset();
  Hello();
  Send("MAIL FROM:<a@b.test>\r\nRCPT TO:<x@example.com>\r\nDATA\r\npartial");
  Session().OnShutdown();
  EXPECT_EQ(Drain(), "421 4.3.2 mx.tern.test Service shutting down\r\n");
  EXPECT_TRUE(Session().wants_close());
  EXPECT_EQ(Rejects(421), 2u);
  EXPECT_TRUE(sink_.pending.empty());
}

TEST_F(SessionTest, PendingCommitLimit) {
  Hello();
  std::string burst;
  for (size_t i = 0; i <= kPendingCommitsMax; ++i) {
    burst += "MAIL FROM:<a@b.test>\r\nRCPT TO:<x@example.com>\r\nDATA\r\nx\r\n.\r\n";
  }
  Send(burst);
  EXPECT_EQ(Session().pending_commits(), kPendingCommitsMax);
  sink_.CompleteAll();
  std::string out = Drain();
  EXPECT_TRUE(absl::EndsWith(out,
                             "354 End data with <CR><LF>.<CR><LF>\r\n"
                             "451 4.3.0 Error: too many messages in flight\r\n"));
  EXPECT_EQ(counters_.messages_accepted.load(), kPendingCommitsMax);
}

TEST_F(SessionTest, ClientThatNeverReadsIsClosed) {
  Drain();
  std::string noops;
  for (int i = 0; i < 1000; ++i) noops += "NOOP\r\n";
  for (int i = 0; i < 100 && !Session().wants_close(); ++i) Session().Consume(noops);
  EXPECT_TRUE(Session().wants_close());
  EXPECT_TRUE(Session().output_overflowed());
  EXPECT_LE(Session().output().pending_bytes(), kOutputBytesMax + 64);
}

// The same pipelined conversation, fed whole, byte by byte, and split at every position,
// gives the same replies and the same records.
std::string Conversation() {
  return absl::StrCat("EHLO client.test\r\n",
                      "MAIL FROM:<a@b.test> SIZE=100 RET=HDRS ENVID=e+2B1\r\n",
                      "RCPT TO:<x@example.com> NOTIFY=SUCCESS ORCPT=rfc822;x@example.com\r\n",
                      "RCPT TO:<nope@other.test>\r\n",
                      "RCPT TO:<\"q\\\"t\"@example.com> NOTIFY=NEVER\r\n", "DATA\r\n",
                      "Subject: x\r\n\r\n..dot\r\n.\r\n",  // message 1
                      "MAIL FROM:<>\r\n", "RCPT TO:<y@example.com>\r\n", "BDAT 8\r\n", ".abc\r\n.d",
                      "BDAT 4 LAST\r\n", "e\r\nf",  // message 2
                      "MAIL FROM:<a@b.test>\r\n", "RCPT TO:<z@example.com>\r\n", "DATA\r\n",
                      "bare\nlf\r\n.\r\n",                     // rejected
                      "NOOP ", std::string(600, 'n'), "\r\n",  // too long
                      "MAIL FROM:<a@b.test>\r\n", "RCPT TO:<w@example.com>\r\n", "DATA\r\n",
                      ".\r\n", "QUIT\r\n", "NOOP\r\n");
}

struct Outcome {
  std::string replies;
  std::vector<std::string> records;
  bool wants_close;
};

Outcome RunConversation(const std::vector<absl::string_view>& pieces) {
  SessionConfig config;
  config.hostname = "mx.tern.test";
  config.relay_policy = &Policy();
  config.clock = &FixedClock;
  ClientInfo client{"192.0.2.9", 1, false};
  FakeSink sink;
  SmtpCounters counters;
  Outcome outcome;
  {
    SmtpSession session(config, client, &sink, &counters);
    session.Start();
    for (absl::string_view piece : pieces) session.Consume(piece);
    sink.CompleteAll();
    outcome.replies = std::string(session.output().Sendable());
    outcome.wants_close = session.wants_close();
  }
  for (const auto& c : sink.committed) outcome.records.push_back(c.record);
  return outcome;
}

TEST(SessionFraming, PipelinedBurstSplitAtAnyByte) {
  const std::string input = Conversation();
  const Outcome whole = RunConversation({input});
  EXPECT_EQ(whole.replies,
            absl::StrCat("220 mx.tern.test ESMTP Tern\r\n",
                         absl::StrReplaceAll(kEhloReply, {{"10000", "36700160"}}),
                         "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n554 5.7.1 Relay access denied\r\n"
                         "250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
                         "250 2.0.0 Ok: queued as 0000000000ABC000\r\n"
                         "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 8 bytes received\r\n"
                         "250 2.0.0 Ok: queued as 0000000000ABC001\r\n"
                         "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
                         "554 5.6.0 Message contains bare CR or LF\r\n"
                         "500 5.5.2 Line too long\r\n"
                         "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
                         "250 2.0.0 Ok: queued as 0000000000ABC003\r\n"
                         "221 2.0.0 Bye\r\n"));
  ASSERT_EQ(whole.records.size(), 3u);
  EXPECT_TRUE(absl::EndsWith(whole.records[0], "+0000\r\nSubject: x\r\n\r\n..dot\r\n"));
  EXPECT_TRUE(absl::StrContains(whole.records[0],
                                "to=x@example.com{notify=2 orcpt=rfc822;x@example.com},"
                                "q\"t@example.com{notify=1 orcpt=} body=0 utf8=0 size=100 "
                                "ret=2 envid=e+2B1\n"))
      << whole.records[0];
  EXPECT_TRUE(absl::StrContains(whole.records[1], "to=y@example.com body=0 utf8=0 size=0\n"))
      << whole.records[1];
  EXPECT_TRUE(absl::EndsWith(whole.records[1], "+0000\r\n..abc\r\n..de\r\nf\r\n"));
  EXPECT_TRUE(absl::EndsWith(whole.records[2], "+0000\r\n"));
  EXPECT_TRUE(whole.wants_close);

  std::vector<absl::string_view> bytes;
  for (size_t i = 0; i < input.size(); ++i) bytes.push_back(absl::string_view(input).substr(i, 1));
  const Outcome byte_by_byte = RunConversation(bytes);
  EXPECT_EQ(byte_by_byte.replies, whole.replies);
  EXPECT_EQ(byte_by_byte.records, whole.records);

  for (size_t split = 0; split <= input.size(); ++split) {
    const absl::string_view view(input);
    const Outcome two = RunConversation({view.substr(0, split), view.substr(split)});
    ASSERT_EQ(two.replies, whole.replies) << "split at " << split;
    ASSERT_EQ(two.records, whole.records) << "split at " << split;
  }
}

}  // namespace
}  // namespace tern::net::smtp
