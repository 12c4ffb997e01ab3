// Tests of net/smtp/client_session.h against a scripted fake server: the test feeds the
// server's bytes and asserts the exact bytes the session sends and every per-recipient
// result (pipelined and not, refusals at each stage, disconnects at each phase, hostile
// replies, every split of the server's bytes, the body sent by reference).
#include "net/smtp/client_session.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"

namespace tern::net::smtp {
namespace {

constexpr absl::string_view kGreeting = "220 mx.test ESMTP\r\n";
// Without CHUNKING (the DATA path, which most tests exercise) and with it (BDAT).
constexpr absl::string_view kEhloPipelining =
    "250-mx.test Hello\r\n250-PIPELINING\r\n250-SIZE 10000\r\n250-8BITMIME\r\n"
    "250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES\r\n";
constexpr absl::string_view kEhloChunking =
    "250-mx.test Hello\r\n250-PIPELINING\r\n250-SIZE 10000\r\n250-8BITMIME\r\n"
    "250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250 CHUNKING\r\n";
constexpr absl::string_view kEhloPlain = "250-mx.test Hello\r\n250 SIZE\r\n";

absl::string_view OutcomeName(DeliveryOutcome outcome) {
  switch (outcome) {
    case DeliveryOutcome::kDelivered:
      return "delivered";
    case DeliveryOutcome::kTempFailed:
      return "temp";
    case DeliveryOutcome::kPermFailed:
      return "perm";
  }
  return "?";
}

// Records every callback as text, so tests compare whole conversations.
class RecordingHandler : public ClientSessionHandler {
 public:
  void OnReady() override {
    ++ready;
    if (on_ready) on_ready();
  }
  void OnTransactionDone(const TransactionResult& result) override {
    std::vector<std::string> parts;
    for (const RecipientResult& r : result.recipients) {
      parts.push_back(absl::StrCat(r.index, ":", OutcomeName(r.outcome), ":",
                                   ReplyStageName(r.stage), ":", r.code, ":",
                                   r.enhanced.ToString()));
      replies.push_back(std::string(r.reply));
    }
    transactions.push_back(absl::StrCat(absl::StrJoin(parts, " "),
                                        result.connection_failed ? " [connection failed]" : "",
                                        result.retry_at_once ? " [retry at once]" : ""));
  }
  void OnCanPipeline() override {
    ++can_pipeline;
    if (on_can_pipeline) on_can_pipeline();
  }
  void OnConnectionFailed(const absl::Status& status, const ServerReply* reply) override {
    ++failures;
    failure = status;
    failure_reply_code = reply == nullptr ? 0 : reply->code();
  }

  int ready = 0;
  int failures = 0;
  absl::Status failure;
  int failure_reply_code = 0;
  std::vector<std::string> transactions;
  std::vector<std::string> replies;
  std::function<void()> on_ready;
  int can_pipeline = 0;
  std::function<void()> on_can_pipeline;
};

class ClientSessionTest : public ::testing::Test {
 protected:
  ClientSessionTest() {
    config_.helo_name = "relay.test";
    recipients_ = {{"r0@dest.test", 0}, {"r1@dest.test", 1}, {"r2@dest.test", 2}};
    body_ = "Subject: hi\r\n\r\nhello\r\n";
  }

  SmtpClientSession& S() {
    if (session_ == nullptr) {
      session_ = std::make_unique<SmtpClientSession>(config_, &handler_, &counters_);
    }
    return *session_;
  }
  // Feeds server bytes; returns everything the session sent since the last call.
  std::string Server(absl::string_view bytes) {
    S().Consume(bytes);
    return Drain();
  }
  std::string Drain() {
    std::string out;
    absl::string_view pieces[16];
    while (!S().output().empty()) {
      const size_t n = S().output().Peek(pieces);
      size_t total = 0;
      for (size_t i = 0; i < n; ++i) {
        out.append(pieces[i].data(), pieces[i].size());
        total += pieces[i].size();
      }
      S().output().Consume(total);
    }
    return out;
  }
  // Replaces the session with one resumed on a connection another session greeted.
  void Resumed(const ServerCapabilities& capabilities) {
    session_ = std::make_unique<SmtpClientSession>(config_, &handler_, &counters_, capabilities);
  }
  // What a session that got `ehlo_reply` parks with its connection, read back.
  static ServerCapabilities ParkedCapabilities(absl::string_view ehlo_reply) {
    ReplyParser parser;
    size_t used = 0;
    EXPECT_EQ(parser.Parse(ehlo_reply, &used), ReplyParseResult::kReply);
    auto parsed = ServerCapabilities::Parse(ParseEhloReply(parser.reply()).Serialize());
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    return parsed.ok() ? *parsed : ServerCapabilities();
  }
  void Connect(absl::string_view ehlo_reply = kEhloPipelining) {
    EXPECT_EQ(Server(kGreeting), "EHLO relay.test\r\n");
    EXPECT_EQ(Server(ehlo_reply), "");
    ASSERT_TRUE(S().ready());
  }
  OutboundMessage Message() {
    OutboundMessage message;
    message.sender = "s@src.test";
    message.recipients = recipients_;
    message.body = body_;
    return message;
  }
  // Starts Message() and returns what was sent at once.
  std::string Start() {
    EXPECT_TRUE(S().StartTransaction(Message()).ok());
    return Drain();
  }
  std::string Batch(size_t size) {
    return absl::StrCat("MAIL FROM:<s@src.test> SIZE=", size,
                        "\r\nRCPT TO:<r0@dest.test>\r\nRCPT TO:<r1@dest.test>\r\n"
                        "RCPT TO:<r2@dest.test>\r\nDATA\r\n");
  }
  // The pipelined batch with CHUNKING: BDAT and its chunk instead of DATA.
  std::string BdatBatch(size_t size, absl::string_view chunk) {
    return absl::StrCat("MAIL FROM:<s@src.test> SIZE=", size,
                        "\r\nRCPT TO:<r0@dest.test>\r\nRCPT TO:<r1@dest.test>\r\n"
                        "RCPT TO:<r2@dest.test>\r\nBDAT ",
                        chunk.size(), " LAST\r\n", chunk);
  }
  std::string LastTransaction() {
    return handler_.transactions.empty() ? "none" : handler_.transactions.back();
  }

  ClientConfig config_;
  RecordingHandler handler_;
  ClientCounters counters_;
  std::vector<OutboundRecipient> recipients_;
  std::string body_;
  std::unique_ptr<SmtpClientSession> session_;
};

// ---------------------------------------------------------------------------------------
// Connection set-up.

TEST_F(ClientSessionTest, GreetingEhloAndCapabilities) {
  Connect(kEhloChunking);
  const ServerCapabilities& caps = S().capabilities();
  EXPECT_TRUE(caps.esmtp);
  EXPECT_TRUE(caps.pipelining);
  EXPECT_EQ(caps.size_max, 10000u);
  EXPECT_TRUE(caps.eight_bit_mime);
  EXPECT_TRUE(caps.smtputf8);
  EXPECT_TRUE(caps.chunking);
  EXPECT_TRUE(caps.enhanced_status_codes);
  EXPECT_FALSE(caps.starttls);
  EXPECT_EQ(handler_.ready, 1);
  EXPECT_EQ(counters_.connections_ready.load(), 1u);
}

TEST_F(ClientSessionTest, HeloFallbackWhenEhloRefused) {
  EXPECT_EQ(Server(kGreeting), "EHLO relay.test\r\n");
  EXPECT_EQ(Server("502 5.5.1 command not recognized\r\n"), "HELO relay.test\r\n");
  EXPECT_FALSE(S().ready());
  EXPECT_EQ(Server("250 mx.test\r\n"), "");
  ASSERT_TRUE(S().ready());
  EXPECT_FALSE(S().capabilities().esmtp);
  EXPECT_FALSE(S().capabilities().pipelining);
  // Without SIZE and PIPELINING: a plain MAIL, one command at a time.
  EXPECT_EQ(Start(), "MAIL FROM:<s@src.test>\r\n");
}

TEST_F(ClientSessionTest, RefusedGreetingFailsAndSaysQuit) {
  EXPECT_EQ(Server("554 5.7.1 go away\r\n"), "QUIT\r\n");
  EXPECT_TRUE(S().wants_close());
  EXPECT_FALSE(S().discard_output());
  EXPECT_EQ(handler_.failures, 1);
  EXPECT_EQ(handler_.failure.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(handler_.failure_reply_code, 554);
  EXPECT_EQ(handler_.ready, 0);
}

TEST_F(ClientSessionTest, TemporaryGreetingAndEhloFailures) {
  EXPECT_EQ(Server("450 busy\r\n"), "QUIT\r\n");
  EXPECT_EQ(handler_.failures, 1);
  session_.reset();
  handler_ = RecordingHandler();
  Server(kGreeting);
  EXPECT_EQ(Server("454 4.7.0 later\r\n"), "QUIT\r\n");
  EXPECT_EQ(handler_.failure_reply_code, 454);
  session_.reset();
  handler_ = RecordingHandler();
  Server(kGreeting);
  EXPECT_EQ(Server("500 no\r\n"), "HELO relay.test\r\n");
  EXPECT_EQ(Server("550 no HELO either\r\n"), "QUIT\r\n");
  EXPECT_EQ(handler_.failures, 1);
}

TEST_F(ClientSessionTest, GreetingWithWrongCodeIsAProtocolError) {
  EXPECT_EQ(Server("250 hello\r\n"), "");
  EXPECT_TRUE(S().wants_close());
  EXPECT_EQ(handler_.failures, 1);
  EXPECT_EQ(counters_.replies_malformed.load(), 1u);
}

// ---------------------------------------------------------------------------------------
// Resumed sessions (a parked connection continued by another shard).

TEST_F(ClientSessionTest, ResumedSessionRunsAPipelinedTransactionFromItsFirstOnReady) {
  Resumed(ParkedCapabilities(kEhloPipelining));
  EXPECT_TRUE(S().ready());
  EXPECT_EQ(Drain(), "");  // no greeting awaited, no EHLO
  EXPECT_EQ(handler_.ready, 0);
  EXPECT_EQ(S().current_timeout(), absl::InfiniteDuration());
  // As a delivery agent would: the first OnReady() starts the message.
  handler_.on_ready = [this] {
    if (handler_.ready == 1) {
      EXPECT_TRUE(S().StartTransaction(Message()).ok());
    }
  };
  ASSERT_TRUE(S().Resume().ok());
  EXPECT_EQ(handler_.ready, 1);
  EXPECT_EQ(Drain(), Batch(body_.size()));  // SIZE and PIPELINING as the EHLO said
  EXPECT_EQ(Server("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 unknown\r\n250 2.1.5 Ok\r\n"
                   "354 go ahead\r\n"),
            body_ + ".\r\n");
  EXPECT_EQ(Server("250 2.0.0 Ok: queued as Y\r\n"), "");
  EXPECT_EQ(LastTransaction(),
            "0:delivered:end of data:250:2.0.0 1:perm:RCPT TO:550:5.1.1 "
            "2:delivered:end of data:250:2.0.0");
  EXPECT_TRUE(S().ready());
  EXPECT_EQ(handler_.ready, 2);
  EXPECT_EQ(counters_.connections_resumed.load(), 1u);
  EXPECT_EQ(counters_.connections_ready.load(), 0u);  // no greeting on this session
  EXPECT_EQ(counters_.recipients_delivered.load(), 2u);
}

TEST_F(ClientSessionTest, ResumedSessionQuits) {
  Resumed(ParkedCapabilities(kEhloPipelining));
  handler_.on_ready = [this] { EXPECT_TRUE(S().Quit().ok()); };
  ASSERT_TRUE(S().Resume().ok());
  EXPECT_EQ(Drain(), "QUIT\r\n");
  EXPECT_FALSE(S().wants_close());
  EXPECT_EQ(Server("221 2.0.0 Bye\r\n"), "");
  EXPECT_TRUE(S().wants_close());
  EXPECT_FALSE(S().discard_output());
  EXPECT_EQ(handler_.failures, 0);
}

TEST_F(ClientSessionTest, ResumedSessionKeepsTheServersOffer) {
  // Without PIPELINING: one command at a time.
  Resumed(ParkedCapabilities(kEhloPlain));
  ASSERT_TRUE(S().Resume().ok());
  EXPECT_EQ(Start(), absl::StrCat("MAIL FROM:<s@src.test> SIZE=", body_.size(), "\r\n"));
  EXPECT_EQ(Server("250 Ok\r\n"), "RCPT TO:<r0@dest.test>\r\n");

  // The SIZE limit the server declared still refuses a larger message locally.
  session_.reset();
  handler_ = RecordingHandler();
  Resumed(ParkedCapabilities("250-mx.test\r\n250-PIPELINING\r\n250 SIZE 10\r\n"));
  ASSERT_TRUE(S().Resume().ok());
  EXPECT_EQ(Start(), "");
  EXPECT_EQ(LastTransaction(),
            "0:perm:local:552:5.3.4 1:perm:local:552:5.3.4 2:perm:local:552:5.3.4");
  EXPECT_TRUE(S().ready());
}

TEST_F(ClientSessionTest, ResumeIsOnceAndOnlyForResumedSessions) {
  EXPECT_EQ(S().Resume().code(), absl::StatusCode::kFailedPrecondition);  // greeting awaited
  EXPECT_EQ(handler_.ready, 0);
  Connect();
  EXPECT_EQ(S().Resume().code(), absl::StatusCode::kFailedPrecondition);  // greeted itself
  EXPECT_EQ(handler_.ready, 1);

  handler_ = RecordingHandler();
  Resumed(ParkedCapabilities(kEhloPipelining));
  ASSERT_TRUE(S().Resume().ok());
  EXPECT_EQ(S().Resume().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(handler_.ready, 1);

  // An owner that starts at once without Resume() gets no OnReady() for it later.
  handler_ = RecordingHandler();
  Resumed(ParkedCapabilities(kEhloPipelining));
  EXPECT_EQ(Start(), Batch(body_.size()));
  EXPECT_EQ(S().Resume().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(handler_.ready, 0);
}

TEST_F(ClientSessionTest, ResumedConnectionTheServerGaveUpOnFailsBeforeResume) {
  // The server's idle timeout hit while the connection was parked: its 421 is the first
  // thing the new owner reads.
  Resumed(ParkedCapabilities(kEhloPipelining));
  EXPECT_EQ(Server("421 4.4.2 mx.test idle too long, closing\r\n"), "");
  EXPECT_EQ(handler_.failures, 1);
  EXPECT_EQ(handler_.failure_reply_code, 421);
  EXPECT_TRUE(S().wants_close());
  EXPECT_EQ(S().Resume().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(handler_.ready, 0);
  EXPECT_TRUE(handler_.transactions.empty());

  // The peer's close alone fails it the same way.
  handler_ = RecordingHandler();
  Resumed(ParkedCapabilities(kEhloPipelining));
  S().OnDisconnected();
  EXPECT_EQ(handler_.failures, 1);
  EXPECT_EQ(S().Resume().code(), absl::StatusCode::kFailedPrecondition);
}

// ---------------------------------------------------------------------------------------
// Transactions.

TEST_F(ClientSessionTest, PipelinedBatchIsOneFlush) {
  Connect();
  ASSERT_TRUE(S().StartTransaction(Message()).ok());
  absl::string_view pieces[8];
  ASSERT_EQ(S().output().Peek(pieces), 1u);
  EXPECT_EQ(pieces[0], Batch(body_.size()));
  EXPECT_EQ(Drain(), Batch(body_.size()));
  EXPECT_EQ(Server("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"), "");
  EXPECT_EQ(Server("354 go ahead\r\n"), body_ + ".\r\n");
  EXPECT_TRUE(handler_.transactions.empty());
  EXPECT_EQ(Server("250 2.0.0 Ok: queued as X\r\n"), "");
  EXPECT_EQ(LastTransaction(),
            "0:delivered:end of data:250:2.0.0 1:delivered:end of data:250:2.0.0 "
            "2:delivered:end of data:250:2.0.0");
  EXPECT_EQ(handler_.replies[0], "250 2.0.0 Ok: queued as X");
  EXPECT_TRUE(S().ready());
  EXPECT_EQ(handler_.ready, 2);
  EXPECT_EQ(counters_.recipients_delivered.load(), 3u);
  EXPECT_EQ(counters_.messages_sent.load(), 1u);
  EXPECT_EQ(counters_.body_bytes_sent.load(), body_.size());
}

TEST_F(ClientSessionTest, NotPipelinedOneCommandAtATime) {
  Connect(kEhloPlain);
  EXPECT_EQ(Start(), absl::StrCat("MAIL FROM:<s@src.test> SIZE=", body_.size(), "\r\n"));
  EXPECT_EQ(Server("250 Ok\r\n"), "RCPT TO:<r0@dest.test>\r\n");
  EXPECT_EQ(Server("250 Ok\r\n"), "RCPT TO:<r1@dest.test>\r\n");
  EXPECT_EQ(Server("550 5.1.1 unknown\r\n"), "RCPT TO:<r2@dest.test>\r\n");
  EXPECT_EQ(Server("250 Ok\r\n"), "DATA\r\n");
  EXPECT_EQ(Server("354 go\r\n"), body_ + ".\r\n");
  EXPECT_EQ(Server("250 Ok\r\n"), "");
  EXPECT_EQ(LastTransaction(),
            "0:delivered:end of data:250: 1:perm:RCPT TO:550:5.1.1 2:delivered:end of data:250:");
  EXPECT_TRUE(S().ready());
}

TEST_F(ClientSessionTest, MixedRecipientResults) {
  Connect();
  Start();
  EXPECT_EQ(Server("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n450 4.2.1 mailbox busy\r\n"
                   "550 5.1.1 no such user\r\n354 go\r\n"),
            body_ + ".\r\n");
  EXPECT_EQ(Server("250 2.0.0 queued\r\n"), "");
  EXPECT_EQ(LastTransaction(),
            "0:delivered:end of data:250:2.0.0 1:temp:RCPT TO:450:4.2.1 "
            "2:perm:RCPT TO:550:5.1.1");
  EXPECT_EQ(handler_.replies[1], "450 4.2.1 mailbox busy");
  EXPECT_EQ(handler_.replies[2], "550 5.1.1 no such user");
  EXPECT_EQ(counters_.recipients_delivered.load(), 1u);
  EXPECT_EQ(counters_.recipients_temp_failed.load(), 1u);
  EXPECT_EQ(counters_.recipients_perm_failed.load(), 1u);
}

TEST_F(ClientSessionTest, AllRecipientsRefusedNoBodyThenRset) {
  Connect();
  Start();
  EXPECT_EQ(Server("250 2.1.0 Ok\r\n550 5.1.1 a\r\n550 5.1.1 b\r\n450 4.2.1 c\r\n"), "");
  EXPECT_EQ(Server("554 5.5.1 no valid recipients\r\n"), "RSET\r\n");
  EXPECT_EQ(LastTransaction(),
            "0:perm:RCPT TO:550:5.1.1 1:perm:RCPT TO:550:5.1.1 "
            "2:temp:RCPT TO:450:4.2.1");
  EXPECT_FALSE(S().ready());
  EXPECT_EQ(handler_.ready, 1);
  EXPECT_EQ(Server("250 2.0.0 Ok\r\n"), "");
  EXPECT_TRUE(S().ready());
  EXPECT_EQ(handler_.ready, 2);
  EXPECT_EQ(counters_.messages_sent.load(), 0u);
}

TEST_F(ClientSessionTest, AllRecipientsRefusedButDataAcceptedGetsALoneDot) {
  Connect();
  Start();
  EXPECT_EQ(Server("250 Ok\r\n550 a\r\n550 b\r\n550 c\r\n354 go\r\n"), ".\r\n");
  EXPECT_EQ(Server("554 no recipients\r\n"), "RSET\r\n");
  EXPECT_EQ(LastTransaction(), "0:perm:RCPT TO:550: 1:perm:RCPT TO:550: 2:perm:RCPT TO:550:");
  EXPECT_EQ(Server("250 Ok\r\n"), "");
  EXPECT_TRUE(S().ready());
}

TEST_F(ClientSessionTest, NotPipelinedAllRefusedSendsNoDataButRset) {
  Connect(kEhloPlain);
  Start();
  EXPECT_EQ(Server("250 Ok\r\n"), "RCPT TO:<r0@dest.test>\r\n");
  EXPECT_EQ(Server("550 no\r\n"), "RCPT TO:<r1@dest.test>\r\n");
  EXPECT_EQ(Server("550 no\r\n"), "RCPT TO:<r2@dest.test>\r\n");
  EXPECT_EQ(Server("550 no\r\n"), "RSET\r\n");
  EXPECT_EQ(Server("250 Ok\r\n"), "");
  EXPECT_TRUE(S().ready());
}

TEST_F(ClientSessionTest, MailRefusedTemporarilyAllTemp) {
  Connect();
  Start();
  EXPECT_EQ(
      Server("452 4.3.1 insufficient storage\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n"
             "503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n"),
      "");
  EXPECT_EQ(LastTransaction(),
            "0:temp:MAIL FROM:452:4.3.1 1:temp:MAIL FROM:452:4.3.1 2:temp:MAIL FROM:452:4.3.1");
  EXPECT_TRUE(S().ready());  // no transaction is open on the server: no RSET
  EXPECT_EQ(handler_.replies[0], "452 4.3.1 insufficient storage");
}

TEST_F(ClientSessionTest, MailRefusedNotPipelined) {
  Connect(kEhloPlain);
  Start();
  EXPECT_EQ(Server("553 5.1.8 bad sender\r\n"), "");
  EXPECT_EQ(LastTransaction(),
            "0:perm:MAIL FROM:553:5.1.8 1:perm:MAIL FROM:553:5.1.8 2:perm:MAIL FROM:553:5.1.8");
  EXPECT_TRUE(S().ready());
}

TEST_F(ClientSessionTest, DataRefusedAfterRecipientsAcceptedAllPerm) {
  Connect();
  Start();
  EXPECT_EQ(Server("250 Ok\r\n250 Ok\r\n250 Ok\r\n550 5.1.1 x\r\n554 5.7.1 not today\r\n"),
            "RSET\r\n");
  EXPECT_EQ(LastTransaction(),
            "0:perm:DATA:554:5.7.1 1:perm:DATA:554:5.7.1 2:perm:RCPT TO:550:5.1.1");
  EXPECT_EQ(Server("250 Ok\r\n"), "");
  EXPECT_TRUE(S().ready());
}

TEST_F(ClientSessionTest, FinalDotTemporaryFailureDefersAcceptedOnes) {
  Connect();
  Start();
  EXPECT_EQ(Server("250 Ok\r\n250 Ok\r\n550 5.1.1 x\r\n250 Ok\r\n354 go\r\n"), body_ + ".\r\n");
  EXPECT_EQ(Server("451 4.3.0 try again\r\n"), "");
  EXPECT_EQ(LastTransaction(),
            "0:temp:end of data:451:4.3.0 1:perm:RCPT TO:550:5.1.1 2:temp:end of data:451:4.3.0");
  EXPECT_TRUE(S().ready());  // the dot ends the transaction: no RSET
  EXPECT_EQ(Start(), Batch(body_.size()));
}

TEST_F(ClientSessionTest, FinalDotPermanentFailure) {
  Connect();
  Start();
  Server("250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n354 go\r\n");
  EXPECT_EQ(Server("554 5.6.0 spam\r\n"), "");
  EXPECT_EQ(LastTransaction(),
            "0:perm:end of data:554:5.6.0 1:perm:end of data:554:5.6.0 "
            "2:perm:end of data:554:5.6.0");
}

TEST_F(ClientSessionTest, TwoMessagesOnOneConnectionThenQuit) {
  Connect();
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(Start(), Batch(body_.size()));
    EXPECT_EQ(Server("250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n354 go\r\n"), body_ + ".\r\n");
    EXPECT_EQ(Server("250 Ok\r\n"), "");
    EXPECT_TRUE(S().ready());
  }
  EXPECT_EQ(handler_.transactions.size(), 2u);
  EXPECT_EQ(handler_.ready, 3);
  ASSERT_TRUE(S().Quit().ok());
  EXPECT_EQ(Drain(), "QUIT\r\n");
  EXPECT_FALSE(S().wants_close());
  EXPECT_EQ(Server("221 2.0.0 Bye\r\n"), "");
  EXPECT_TRUE(S().wants_close());
  EXPECT_EQ(handler_.failures, 0);
}

TEST_F(ClientSessionTest, QuitWithoutReplyClosesOnTimeoutOrDisconnect) {
  Connect();
  ASSERT_TRUE(S().Quit().ok());
  EXPECT_EQ(Drain(), "QUIT\r\n");
  S().OnTimeout();
  EXPECT_TRUE(S().wants_close());
  EXPECT_EQ(handler_.failures, 0);
  session_.reset();
  handler_ = RecordingHandler();
  Connect();
  ASSERT_TRUE(S().Quit().ok());
  S().OnDisconnected();
  EXPECT_TRUE(S().wants_close());
  EXPECT_EQ(handler_.failures, 0);
}

TEST_F(ClientSessionTest, StartTransactionPreconditions) {
  EXPECT_EQ(S().StartTransaction(Message()).code(), absl::StatusCode::kFailedPrecondition);
  Connect();
  OutboundMessage none = Message();
  none.recipients = {};
  EXPECT_EQ(S().StartTransaction(none).code(), absl::StatusCode::kInvalidArgument);
  std::vector<OutboundRecipient> many(kTransactionRecipientsMax + 1, {"a@b.test", 0});
  OutboundMessage too_many = Message();
  too_many.recipients = many;
  EXPECT_EQ(S().StartTransaction(too_many).code(), absl::StatusCode::kInvalidArgument);
  OutboundMessage injected = Message();
  std::vector<OutboundRecipient> bad = {{"a@b.test\r\nRSET", 0}};
  injected.recipients = bad;
  EXPECT_EQ(S().StartTransaction(injected).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Drain(), "");
  EXPECT_TRUE(S().ready());
  ASSERT_TRUE(S().StartTransaction(Message()).ok());
  EXPECT_EQ(S().StartTransaction(Message()).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(S().Quit().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ClientSessionTest, MailParametersFollowTheServer) {
  Connect();
  OutboundMessage message = Message();
  message.eight_bit = true;
  message.needs_smtputf8 = true;
  message.size = 5000;
  ASSERT_TRUE(S().StartTransaction(message).ok());
  EXPECT_TRUE(
      absl::StartsWith(Drain(), "MAIL FROM:<s@src.test> SIZE=5000 BODY=8BITMIME SMTPUTF8\r\n"));
}

TEST_F(ClientSessionTest, DsnParametersOnlyWhenTheServerOffersDsn) {
  recipients_ = {{"r0@dest.test", 0, kDsnNotifyFailure, "rfc822;r0@dest.test"}};
  OutboundMessage message = Message();
  message.dsn_ret = kDsnRetHeaders;
  message.envid = "ID1";
  Connect(kEhloPlain);
  ASSERT_TRUE(S().StartTransaction(message).ok());
  EXPECT_EQ(Drain(), absl::StrCat("MAIL FROM:<s@src.test> SIZE=", body_.size(), "\r\n"));
  EXPECT_EQ(Server("250 Ok\r\n"), "RCPT TO:<r0@dest.test>\r\n");
  session_.reset();
  Connect("250-mx.test\r\n250 DSN\r\n");
  ASSERT_TRUE(S().StartTransaction(message).ok());
  EXPECT_EQ(Drain(), "MAIL FROM:<s@src.test> RET=HDRS ENVID=ID1\r\n");
  EXPECT_EQ(Server("250 Ok\r\n"),
            "RCPT TO:<r0@dest.test> NOTIFY=FAILURE ORCPT=rfc822;r0@dest.test\r\n");
}

TEST_F(ClientSessionTest, EightBitToAServerWithout8BitMimeIsSentWithoutBodyParameter) {
  Connect(kEhloPlain);
  OutboundMessage message = Message();
  message.eight_bit = true;
  ASSERT_TRUE(S().StartTransaction(message).ok());
  EXPECT_EQ(Drain(), absl::StrCat("MAIL FROM:<s@src.test> SIZE=", body_.size(), "\r\n"));
}

// ---------------------------------------------------------------------------------------
// Local refusals.

TEST_F(ClientSessionTest, TooBigForTheServerFailsPermanentlyWithoutSending) {
  Connect();
  OutboundMessage message = Message();
  message.size = 10001;
  ASSERT_TRUE(S().StartTransaction(message).ok());
  EXPECT_EQ(Drain(), "");
  EXPECT_EQ(LastTransaction(),
            "0:perm:local:552:5.3.4 1:perm:local:552:5.3.4 "
            "2:perm:local:552:5.3.4");
  EXPECT_TRUE(S().ready());
  EXPECT_EQ(handler_.ready, 2);
  message.size = 10000;  // exactly the limit is fine
  ASSERT_TRUE(S().StartTransaction(message).ok());
  EXPECT_TRUE(absl::StartsWith(Drain(), "MAIL FROM:<s@src.test> SIZE=10000\r\n"));
}

TEST_F(ClientSessionTest, SmtpUtf8NeededButNotOffered) {
  Connect(kEhloPlain);
  OutboundMessage message = Message();
  message.needs_smtputf8 = true;
  ASSERT_TRUE(S().StartTransaction(message).ok());
  EXPECT_EQ(Drain(), "");
  EXPECT_EQ(LastTransaction(),
            "0:perm:local:553:5.6.7 1:perm:local:553:5.6.7 "
            "2:perm:local:553:5.6.7");
}

TEST_F(ClientSessionTest, LocalRefusalsStartedFromOnReadyDoNotRecurse) {
  int started = 0;
  handler_.on_ready = [&] {
    if (started >= 50) return;
    ++started;
    OutboundMessage message = Message();
    message.size = 20000;  // always too big
    ASSERT_TRUE(S().StartTransaction(message).ok());
  };
  Connect();
  EXPECT_EQ(started, 50);
  EXPECT_EQ(handler_.transactions.size(), 50u);
  EXPECT_EQ(handler_.ready, 51);
}

// ---------------------------------------------------------------------------------------
// The body.

TEST_F(ClientSessionTest, BodyIsSentByReferenceAndByteIdentical) {
  const std::vector<std::string> bodies = {
      "..leading dot stuffed\r\n.\xff\xfe 8-bit \x80\r\n..\r\n",
      "no final CRLF",
      "",
      "ends with CR\r",
  };
  Connect();
  for (const std::string& body : bodies) {
    body_ = body;
    Start();
    Server("250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n");
    S().Consume("354 go\r\n");
    absl::string_view pieces[8];
    const size_t n = S().output().Peek(pieces);
    std::string expected_tail;
    if (body.empty()) {
      ASSERT_EQ(n, 1u);
      EXPECT_EQ(pieces[0], ".\r\n");
    } else {
      ASSERT_EQ(n, 2u);
      EXPECT_EQ(pieces[0].data(), body_.data());  // by reference, not a copy
      EXPECT_EQ(pieces[0].size(), body_.size());
      EXPECT_EQ(pieces[1], absl::EndsWith(body, "\r\n") ? ".\r\n" : "\r\n.\r\n");
    }
    EXPECT_EQ(S().current_timeout(),
              body.empty() ? config_.data_final_timeout : config_.data_block_timeout);
    Drain();
    EXPECT_EQ(S().current_timeout(), config_.data_final_timeout);
    Server("250 Ok\r\n");
    ASSERT_TRUE(S().ready());
  }
}

// ---------------------------------------------------------------------------------------
// CHUNKING (RFC 3030): BDAT instead of DATA.

constexpr absl::string_view kEhloChunkingPlain =
    "250-mx.test Hello\r\n250-SIZE\r\n250 CHUNKING\r\n";

// A stored body with stuffed lines (at offset 0, in the middle, "..." for a line of "..")
// and what BDAT must carry: each line's first dot removed, nothing else.
constexpr absl::string_view kStuffedBody = "..From the top\r\nb\r\n...\r\n.\xff 8-bit\r\nlast\r\n";
constexpr absl::string_view kUnstuffedBody = ".From the top\r\nb\r\n..\r\n\xff 8-bit\r\nlast\r\n";

std::string Bdat(absl::string_view chunk) {
  return absl::StrCat("BDAT ", chunk.size(), " LAST\r\n", chunk);
}

// Whether `piece` lies inside `body` (queued by reference, not copied).
bool Inside(absl::string_view piece, absl::string_view body) {
  return piece.data() >= body.data() && piece.data() + piece.size() <= body.data() + body.size();
}

TEST_F(ClientSessionTest, ChunkingPipelinedSendsBdatLastAndTheUnstuffedBodyInTheBatch) {
  body_ = std::string(kStuffedBody);
  Connect(kEhloChunking);
  ASSERT_TRUE(S().StartTransaction(Message()).ok());
  // The batch (owned), then the body's ranges between its stuffing dots, in place.
  absl::string_view pieces[16];
  const size_t n = S().output().Peek(pieces);
  ASSERT_EQ(n, 4u);
  EXPECT_EQ(pieces[0], absl::StrCat("MAIL FROM:<s@src.test> SIZE=", body_.size(),
                                    "\r\nRCPT TO:<r0@dest.test>\r\nRCPT TO:<r1@dest.test>\r\n"
                                    "RCPT TO:<r2@dest.test>\r\nBDAT ",
                                    kUnstuffedBody.size(), " LAST\r\n"));
  EXPECT_FALSE(S().output().FrontIsExternal());
  // Offsets of the dots skipped: 0, 19 ("..." line), 24 (".\xff").
  EXPECT_EQ(pieces[1].data(), body_.data() + 1);
  EXPECT_EQ(pieces[1], ".From the top\r\nb\r\n");
  EXPECT_EQ(pieces[2].data(), body_.data() + 20);
  EXPECT_EQ(pieces[2], "..\r\n");
  EXPECT_EQ(pieces[3].data(), body_.data() + 25);
  EXPECT_EQ(pieces[3], "\xff 8-bit\r\nlast\r\n");
  EXPECT_EQ(S().output().pending_external_bytes(), kUnstuffedBody.size());
  EXPECT_EQ(Drain(), BdatBatch(body_.size(), kUnstuffedBody));
  EXPECT_EQ(counters_.messages_sent.load(), 1u);
  EXPECT_EQ(counters_.body_bytes_sent.load(), body_.size());  // the stored bytes
  EXPECT_EQ(Server("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 unknown\r\n250 2.1.5 Ok\r\n"), "");
  EXPECT_TRUE(handler_.transactions.empty());
  EXPECT_EQ(S().current_timeout(), config_.data_final_timeout);
  EXPECT_EQ(Server("250 2.0.0 Ok: 71 bytes queued as X\r\n"), "");
  EXPECT_EQ(LastTransaction(),
            "0:delivered:end of data:250:2.0.0 1:perm:RCPT TO:550:5.1.1 "
            "2:delivered:end of data:250:2.0.0");
  EXPECT_EQ(handler_.replies[0], "250 2.0.0 Ok: 71 bytes queued as X");
  EXPECT_TRUE(S().ready());  // BDAT LAST ended the transaction: no RSET
  EXPECT_EQ(handler_.ready, 2);
  EXPECT_EQ(counters_.recipients_delivered.load(), 2u);
  EXPECT_EQ(counters_.recipients_perm_failed.load(), 1u);
}

TEST_F(ClientSessionTest, ChunkingNotPipelinedSendsBdatAndItsChunkAfterTheLastRcpt) {
  body_ = std::string(kStuffedBody);
  Connect(kEhloChunkingPlain);
  EXPECT_EQ(Start(), absl::StrCat("MAIL FROM:<s@src.test> SIZE=", body_.size(), "\r\n"));
  EXPECT_EQ(Server("250 Ok\r\n"), "RCPT TO:<r0@dest.test>\r\n");
  EXPECT_EQ(Server("250 Ok\r\n"), "RCPT TO:<r1@dest.test>\r\n");
  EXPECT_EQ(Server("450 4.2.1 busy\r\n"), "RCPT TO:<r2@dest.test>\r\n");
  EXPECT_EQ(counters_.messages_sent.load(), 0u);
  S().Consume("250 Ok\r\n");
  // The chunk follows its command at once: there is no 354 to wait for.
  absl::string_view pieces[8];
  ASSERT_EQ(S().output().Peek(pieces), 4u);
  EXPECT_EQ(pieces[0], absl::StrCat("BDAT ", kUnstuffedBody.size(), " LAST\r\n"));
  for (size_t i = 1; i < 4; ++i) EXPECT_TRUE(Inside(pieces[i], body_)) << i;
  EXPECT_EQ(S().current_timeout(), config_.data_block_timeout);
  EXPECT_EQ(Drain(), Bdat(kUnstuffedBody));
  EXPECT_EQ(S().current_timeout(), config_.data_final_timeout);
  EXPECT_EQ(Server("250 2.0.0 Ok\r\n"), "");
  EXPECT_EQ(LastTransaction(),
            "0:delivered:end of data:250:2.0.0 1:temp:RCPT TO:450:4.2.1 "
            "2:delivered:end of data:250:2.0.0");
  EXPECT_TRUE(S().ready());
  EXPECT_EQ(counters_.messages_sent.load(), 1u);
}

TEST_F(ClientSessionTest, ChunkingNoRecipientAcceptedAbsorbsTheBdatReplyThenRset) {
  Connect(kEhloChunking);
  EXPECT_EQ(Start(), BdatBatch(body_.size(), body_));
  EXPECT_EQ(Server("250 2.1.0 Ok\r\n550 5.1.1 a\r\n550 5.1.1 b\r\n450 4.2.1 c\r\n"), "");
  EXPECT_TRUE(handler_.transactions.empty());
  EXPECT_EQ(Server("554 5.5.1 no valid recipients\r\n"), "RSET\r\n");
  EXPECT_EQ(LastTransaction(),
            "0:perm:RCPT TO:550:5.1.1 1:perm:RCPT TO:550:5.1.1 2:temp:RCPT TO:450:4.2.1");
  EXPECT_EQ(Server("250 2.0.0 Ok\r\n"), "");
  EXPECT_TRUE(S().ready());

  // A 503 is absorbed the same way.
  Start();
  Server("250 Ok\r\n550 a\r\n550 b\r\n550 c\r\n");
  EXPECT_EQ(Server("503 5.5.1 no valid recipients\r\n"), "RSET\r\n");
  EXPECT_EQ(LastTransaction(), "0:perm:RCPT TO:550: 1:perm:RCPT TO:550: 2:perm:RCPT TO:550:");
  EXPECT_EQ(Server("250 Ok\r\n"), "");
  EXPECT_TRUE(S().ready());

  // MAIL refused: the BDAT reply is absorbed too, and no transaction is open: no RSET.
  Start();
  EXPECT_EQ(Server("452 4.3.1 full\r\n503 a\r\n503 b\r\n503 c\r\n503 5.5.1 need MAIL\r\n"), "");
  EXPECT_EQ(LastTransaction(),
            "0:temp:MAIL FROM:452:4.3.1 1:temp:MAIL FROM:452:4.3.1 2:temp:MAIL FROM:452:4.3.1");
  EXPECT_TRUE(S().ready());
}

TEST_F(ClientSessionTest, ChunkingNotPipelinedNoRecipientAcceptedSendsNoBdatButRset) {
  Connect(kEhloChunkingPlain);
  Start();
  EXPECT_EQ(Server("250 Ok\r\n"), "RCPT TO:<r0@dest.test>\r\n");
  EXPECT_EQ(Server("550 no\r\n"), "RCPT TO:<r1@dest.test>\r\n");
  EXPECT_EQ(Server("550 no\r\n"), "RCPT TO:<r2@dest.test>\r\n");
  EXPECT_EQ(Server("550 no\r\n"), "RSET\r\n");
  EXPECT_EQ(Server("250 Ok\r\n"), "");
  EXPECT_TRUE(S().ready());
  EXPECT_EQ(counters_.messages_sent.load(), 0u);
}

TEST_F(ClientSessionTest, BdatPermanentFailureFailsTheAcceptedRecipientsThenRset) {
  Connect(kEhloChunking);
  Start();
  EXPECT_EQ(Server("250 Ok\r\n250 Ok\r\n550 5.1.1 x\r\n250 Ok\r\n"), "");
  EXPECT_EQ(Server("554 5.6.0 spam\r\n"), "RSET\r\n");
  EXPECT_EQ(LastTransaction(),
            "0:perm:end of data:554:5.6.0 1:perm:RCPT TO:550:5.1.1 2:perm:end of data:554:5.6.0");
  EXPECT_EQ(handler_.replies[0], "554 5.6.0 spam");
  EXPECT_FALSE(S().ready());
  EXPECT_EQ(Server("250 Ok\r\n"), "");
  EXPECT_TRUE(S().ready());
  EXPECT_EQ(handler_.ready, 2);
}

TEST_F(ClientSessionTest, BdatTemporaryFailureDefersTheAcceptedRecipientsThenRset) {
  Connect(kEhloChunking);
  Start();
  EXPECT_EQ(Server("250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n452 4.3.1 out of storage\r\n"),
            "RSET\r\n");
  EXPECT_EQ(LastTransaction(),
            "0:temp:end of data:452:4.3.1 1:temp:end of data:452:4.3.1 "
            "2:temp:end of data:452:4.3.1");
  EXPECT_EQ(Server("250 Ok\r\n"), "");
  EXPECT_TRUE(S().ready());
  EXPECT_EQ(counters_.recipients_temp_failed.load(), 3u);
}

TEST_F(ClientSessionTest, BdatBodyWithoutFinalCrlfGetsOneCountedInTheSize) {
  Connect(kEhloChunking);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"a\r\n..b\r\nno final CRLF", "a\r\n.b\r\nno final CRLF\r\n"},
      {"ends with CR\r", "ends with CR\r\r\n"},
      {"..", ".\r\n"},
  };
  for (const auto& [stored, chunk] : cases) {
    SCOPED_TRACE(stored);
    body_ = stored;
    ASSERT_TRUE(S().StartTransaction(Message()).ok());
    absl::string_view pieces[8];
    const size_t n = S().output().Peek(pieces);
    ASSERT_GE(n, 3u);
    EXPECT_EQ(pieces[n - 1], "\r\n");  // owned, after the body's ranges
    for (size_t i = 1; i + 1 < n; ++i) EXPECT_TRUE(Inside(pieces[i], body_)) << i;
    EXPECT_TRUE(absl::EndsWith(Drain(), Bdat(chunk)));
    EXPECT_EQ(Server("250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n"), "");
    EXPECT_EQ(LastTransaction(),
              "0:delivered:end of data:250: 1:delivered:end of data:250: "
              "2:delivered:end of data:250:");
    ASSERT_TRUE(S().ready());
  }
}

TEST_F(ClientSessionTest, BdatEmptyBodyIsBdatZeroLast) {
  body_.clear();
  Connect(kEhloChunking);
  ASSERT_TRUE(S().StartTransaction(Message()).ok());
  absl::string_view pieces[8];
  ASSERT_EQ(S().output().Peek(pieces), 1u);  // nothing but the batch
  EXPECT_EQ(S().output().pending_external_bytes(), 0u);
  EXPECT_TRUE(absl::EndsWith(Drain(), "RCPT TO:<r2@dest.test>\r\nBDAT 0 LAST\r\n"));
  EXPECT_EQ(Server("250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n"), "");
  EXPECT_TRUE(S().ready());
  EXPECT_EQ(counters_.recipients_delivered.load(), 3u);

  // Not pipelined: the same command, alone.
  session_.reset();
  Connect(kEhloChunkingPlain);
  Start();
  Server("250 Ok\r\n");
  Server("250 Ok\r\n");
  Server("250 Ok\r\n");
  EXPECT_EQ(Server("250 Ok\r\n"), "BDAT 0 LAST\r\n");
  EXPECT_EQ(Server("250 Ok\r\n"), "");
  EXPECT_TRUE(S().ready());
}

TEST_F(ClientSessionTest, BdatStuffingDotsOnlyAtLineStarts) {
  Connect(kEhloChunking);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"no dots at all\r\n", "no dots at all\r\n"},
      {"a.b\r\n x.\r\n", "a.b\r\n x.\r\n"},         // dots inside lines stay
      {"a\n..b\r\n", "a\n..b\r\n"},                 // a bare LF does not start a line
      {"a\r..b\r\n", "a\r..b\r\n"},                 // nor does a bare CR
      {"..\r\n..\r\n..\r\n", ".\r\n.\r\n.\r\n"},    // consecutive stuffed lines
      {"\r\n..x\r\n", "\r\n.x\r\n"},                // after an empty line
      {"x\r\n\r\n....y\r\n", "x\r\n\r\n...y\r\n"},  // only the first dot of a line
  };
  for (const auto& [stored, chunk] : cases) {
    SCOPED_TRACE(stored);
    body_ = stored;
    ASSERT_TRUE(S().StartTransaction(Message()).ok());
    absl::string_view pieces[16];
    const size_t n = S().output().Peek(pieces);
    for (size_t i = 1; i < n; ++i) EXPECT_TRUE(Inside(pieces[i], body_)) << i;
    EXPECT_TRUE(absl::EndsWith(Drain(), Bdat(chunk)));
    Server("250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n");
    ASSERT_TRUE(S().ready());
  }
}

TEST_F(ClientSessionTest, BodyNeedingTooManyChunkRangesGoesWithData) {
  Connect(kEhloChunking);
  // "a\r\n" and then lines of "..": one range before the first dot, one after each dot.
  std::string stuffed = "a\r\n";
  std::string unstuffed = "a\r\n";
  for (size_t i = 0; i + 1 < kChunkRangesMax; ++i) {
    stuffed += "..\r\n";
    unstuffed += ".\r\n";
  }
  body_ = stuffed;
  ASSERT_TRUE(S().StartTransaction(Message()).ok());
  std::vector<absl::string_view> pieces(kChunkRangesMax + 8);
  EXPECT_EQ(S().output().Peek(pieces), 1 + kChunkRangesMax);  // the batch and the ranges
  EXPECT_EQ(Drain(), BdatBatch(body_.size(), unstuffed));
  EXPECT_EQ(Server("250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n"), "");
  ASSERT_TRUE(S().ready());

  // One more such line: the stored form, as it is, with DATA (one range).
  body_ = stuffed + "..\r\n";
  EXPECT_EQ(Start(), Batch(body_.size()));
  EXPECT_EQ(Server("250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n354 go\r\n"), body_ + ".\r\n");
  EXPECT_EQ(Server("250 Ok\r\n"), "");
  EXPECT_EQ(LastTransaction(),
            "0:delivered:end of data:250: 1:delivered:end of data:250: "
            "2:delivered:end of data:250:");
  EXPECT_TRUE(S().ready());
  EXPECT_EQ(counters_.messages_sent.load(), 2u);
}

TEST_F(ClientSessionTest, DisconnectOrTimeoutWhileWaitingForBdatMakesEveryRecipientTemp) {
  for (const bool timeout : {false, true}) {
    SCOPED_TRACE(timeout);
    session_.reset();
    handler_ = RecordingHandler();
    Connect(kEhloChunking);
    Start();
    EXPECT_EQ(Server("250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n"), "");
    if (timeout) {
      S().OnTimeout();
    } else {
      S().OnDisconnected();
    }
    EXPECT_EQ(LastTransaction(),
              "0:temp:connection:451:4.4.2 1:temp:connection:451:4.4.2 "
              "2:temp:connection:451:4.4.2 [connection failed]");
    EXPECT_TRUE(absl::StrContains(handler_.failure.message(), "the reply to BDAT LAST"))
        << handler_.failure;
    EXPECT_TRUE(S().wants_close());
  }
}

TEST_F(ClientSessionTest, DataStillUsedWithoutChunking) {
  body_ = std::string(kStuffedBody);
  Connect(kEhloPipelining);
  EXPECT_FALSE(S().capabilities().chunking);
  EXPECT_EQ(Start(), Batch(body_.size()));
  EXPECT_EQ(Server("250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n354 go\r\n"),
            absl::StrCat(body_, ".\r\n"));  // the stored, stuffed form
  EXPECT_EQ(Server("250 Ok\r\n"), "");
  EXPECT_TRUE(S().ready());
}

// ---------------------------------------------------------------------------------------
// Transactions pipelined behind the end of data (RFC 2920 §3.1, RFC 3030 §2).

constexpr absl::string_view kAllAccepted = "250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n";

TEST_F(ClientSessionTest, BdatTakesTheNextTransactionBehindBdatLast) {
  Connect(kEhloChunking);
  const std::string batch = BdatBatch(body_.size(), body_);
  EXPECT_EQ(Start(), batch);
  // Everything of the first is queued: the caller asks, no callback from StartTransaction.
  EXPECT_TRUE(S().can_pipeline());
  EXPECT_EQ(handler_.can_pipeline, 0);
  ASSERT_TRUE(S().StartTransaction(Message()).ok());
  EXPECT_EQ(Drain(), batch);  // on the wire before the first one's replies
  EXPECT_EQ(S().transactions_in_flight(), 2u);
  EXPECT_FALSE(S().can_pipeline());  // two at most
  EXPECT_FALSE(S().StartTransaction(Message()).ok());
  EXPECT_EQ(Server(absl::StrCat(kAllAccepted, "250 2.0.0 first")), "");
  EXPECT_EQ(handler_.transactions.size(), 0u);  // a reply may arrive in pieces
  EXPECT_EQ(Server("\r\n"), "");
  ASSERT_EQ(handler_.transactions.size(), 1u);
  EXPECT_EQ(handler_.replies.back(), "250 2.0.0 first");
  // The second is current now, and fully queued: a third may follow it.
  EXPECT_EQ(handler_.can_pipeline, 1);
  EXPECT_TRUE(S().can_pipeline());
  EXPECT_FALSE(S().ready());
  EXPECT_EQ(Server(absl::StrCat(kAllAccepted, "250 2.0.0 second\r\n")), "");
  ASSERT_EQ(handler_.transactions.size(), 2u);
  EXPECT_EQ(handler_.transactions[1],
            "0:delivered:end of data:250:2.0.0 1:delivered:end of data:250:2.0.0 "
            "2:delivered:end of data:250:2.0.0");
  EXPECT_EQ(handler_.replies.back(), "250 2.0.0 second");
  EXPECT_TRUE(S().ready());
  EXPECT_EQ(handler_.ready, 2);
  EXPECT_EQ(counters_.transactions_pipelined.load(), 1u);
  EXPECT_EQ(counters_.messages_sent.load(), 2u);
}

TEST_F(ClientSessionTest, DataPipelinesTheNextTransactionAfterTheBodyIsQueued) {
  Connect();
  EXPECT_EQ(Start(), Batch(body_.size()));
  EXPECT_FALSE(S().can_pipeline());  // the body waits for 354
  handler_.on_can_pipeline = [this] { ASSERT_TRUE(S().StartTransaction(Message()).ok()); };
  // Body, dot, then the next MAIL, RCPTs and DATA: content first, DATA last in the group.
  EXPECT_EQ(Server(absl::StrCat(kAllAccepted, "354 go\r\n")),
            absl::StrCat(body_, ".\r\n", Batch(body_.size())));
  EXPECT_EQ(handler_.can_pipeline, 1);
  handler_.on_can_pipeline = nullptr;
  EXPECT_EQ(Server("250 2.0.0 first\r\n"), "");
  EXPECT_EQ(LastTransaction(),
            "0:delivered:end of data:250:2.0.0 1:delivered:end of data:250:2.0.0 "
            "2:delivered:end of data:250:2.0.0");
  EXPECT_FALSE(S().can_pipeline());  // the second's body waits for its 354
  EXPECT_EQ(Server("250 Ok\r\n550 5.1.1 no\r\n250 Ok\r\n250 Ok\r\n354 go\r\n"),
            absl::StrCat(body_, ".\r\n"));
  EXPECT_EQ(handler_.can_pipeline, 2);  // offered, not taken
  EXPECT_EQ(Server("250 2.0.0 second\r\n"), "");
  EXPECT_EQ(LastTransaction(),
            "0:perm:RCPT TO:550:5.1.1 1:delivered:end of data:250:2.0.0 "
            "2:delivered:end of data:250:2.0.0");
  EXPECT_TRUE(S().ready());
}

TEST_F(ClientSessionTest, FailedBdatLastThenPipelinedMailRefused503IsRetriedAtOnceAfterRset) {
  Connect(kEhloChunking);
  const std::string batch = BdatBatch(body_.size(), body_);
  Start();
  ASSERT_TRUE(S().StartTransaction(Message()).ok());
  EXPECT_EQ(Drain(), batch);
  // The first chunk is refused; the server keeps its transaction open (RFC 3030 §2), so the
  // second MAIL is a nested one, and all of the second batch is refused in sequence.
  EXPECT_EQ(Server(absl::StrCat(kAllAccepted, "554 5.6.0 spam\r\n")), "");
  EXPECT_EQ(LastTransaction(),
            "0:perm:end of data:554:5.6.0 1:perm:end of data:554:5.6.0 "
            "2:perm:end of data:554:5.6.0");
  EXPECT_EQ(Server("503 5.5.1 nested MAIL command\r\n503 5.5.1 x\r\n503 5.5.1 x\r\n"
                   "503 5.5.1 x\r\n"),
            "");
  EXPECT_EQ(Server("503 5.5.1 no valid recipients\r\n"), "RSET\r\n");
  ASSERT_EQ(handler_.transactions.size(), 2u);
  EXPECT_EQ(handler_.transactions[1],
            "0:temp:MAIL FROM:451:4.5.0 1:temp:MAIL FROM:451:4.5.0 2:temp:MAIL FROM:451:4.5.0 "
            "[retry at once]");
  EXPECT_EQ(handler_.replies.back(),
            "451 4.5.0 MAIL FROM pipelined behind the previous transaction refused: 503 5.5.1 "
            "nested MAIL command");
  EXPECT_FALSE(S().ready());
  EXPECT_EQ(Server("250 2.0.0 Ok\r\n"), "");
  EXPECT_TRUE(S().ready());
  EXPECT_EQ(counters_.pipelining_refused.load(), 1u);
  // This server does not take it: the connection pipelines no more transactions.
  EXPECT_EQ(Start(), batch);
  EXPECT_FALSE(S().can_pipeline());
}

TEST_F(ClientSessionTest, FailedBdatLastThenPipelinedMailAcceptedGoesOnWithoutRset) {
  Connect(kEhloChunking);
  Start();
  ASSERT_TRUE(S().StartTransaction(Message()).ok());
  Drain();
  // This server ended the refused transaction itself: the second one is a normal one.
  EXPECT_EQ(Server(absl::StrCat(kAllAccepted, "452 4.3.1 full\r\n")), "");
  EXPECT_EQ(Server(absl::StrCat(kAllAccepted, "250 2.0.0 second\r\n")), "");
  ASSERT_EQ(handler_.transactions.size(), 2u);
  EXPECT_EQ(handler_.transactions[0],
            "0:temp:end of data:452:4.3.1 1:temp:end of data:452:4.3.1 "
            "2:temp:end of data:452:4.3.1");
  EXPECT_EQ(handler_.transactions[1],
            "0:delivered:end of data:250:2.0.0 1:delivered:end of data:250:2.0.0 "
            "2:delivered:end of data:250:2.0.0");
  EXPECT_TRUE(S().ready());
  EXPECT_EQ(counters_.pipelining_refused.load(), 0u);
}

TEST_F(ClientSessionTest, PipelinedMailRefusedBehindAnOpenTransactionIsRetriedAtOnce) {
  Connect(kEhloChunking);
  Start();
  ASSERT_TRUE(S().StartTransaction(Message()).ok());
  Drain();
  // Nobody accepted: the first transaction stays open on the server; whatever refuses the
  // second MAIL then (here not a 503) may be due to it.
  EXPECT_EQ(Server("250 Ok\r\n550 5.1.1 a\r\n550 5.1.1 b\r\n550 5.1.1 c\r\n554 5.5.1 none\r\n"),
            "");
  EXPECT_EQ(Server("451 4.3.0 try later\r\n451 x\r\n451 x\r\n451 x\r\n451 x\r\n"), "RSET\r\n");
  EXPECT_EQ(LastTransaction(),
            "0:temp:MAIL FROM:451:4.5.0 1:temp:MAIL FROM:451:4.5.0 2:temp:MAIL FROM:451:4.5.0 "
            "[retry at once]");
  EXPECT_EQ(Server("250 Ok\r\n"), "");
  EXPECT_TRUE(S().ready());
  // Not a 503: the server may take pipelining; the next transaction may be pipelined.
  Start();
  EXPECT_TRUE(S().can_pipeline());
}

TEST_F(ClientSessionTest, NoPipeliningOfferedWhenNobodyWasAccepted) {
  Connect(kEhloChunking);
  Start();
  EXPECT_TRUE(S().can_pipeline());
  EXPECT_EQ(Server("250 Ok\r\n550 5.1.1 a\r\n550 5.1.1 b\r\n550 5.1.1 c\r\n"), "");
  EXPECT_FALSE(S().can_pipeline());  // the transaction will need RSET
  EXPECT_EQ(Server("554 5.5.1 none\r\n"), "RSET\r\n");
}

TEST_F(ClientSessionTest, ConnectionLostWithTwoTransactionsReportsBothInOrder) {
  Connect(kEhloChunking);
  Start();
  ASSERT_TRUE(S().StartTransaction(Message()).ok());
  Drain();
  EXPECT_EQ(Server("250 Ok\r\n250 Ok\r\n"), "");
  S().OnDisconnected();
  ASSERT_EQ(handler_.transactions.size(), 2u);
  for (const std::string& t : handler_.transactions) {
    EXPECT_EQ(t,
              "0:temp:connection:451:4.4.2 1:temp:connection:451:4.4.2 "
              "2:temp:connection:451:4.4.2 [connection failed]");
  }
  EXPECT_EQ(handler_.failures, 1);
  EXPECT_EQ(S().transactions_in_flight(), 0u);
}

TEST_F(ClientSessionTest, PipelinedTransactionRefusedLocallyIsReportedAfterTheOneBefore) {
  Connect(kEhloChunking);
  Start();
  const std::string big(20000, 'x');  // SIZE 10000
  OutboundMessage message = Message();
  message.body = big;
  ASSERT_TRUE(S().StartTransaction(message).ok());
  EXPECT_EQ(Drain(), "");  // nothing of it is sent
  EXPECT_EQ(handler_.transactions.size(), 0u);
  EXPECT_EQ(Server(absl::StrCat(kAllAccepted, "250 2.0.0 first\r\n")), "");
  ASSERT_EQ(handler_.transactions.size(), 2u);
  EXPECT_EQ(handler_.transactions[0],
            "0:delivered:end of data:250:2.0.0 1:delivered:end of data:250:2.0.0 "
            "2:delivered:end of data:250:2.0.0");
  EXPECT_EQ(handler_.transactions[1],
            "0:perm:local:552:5.3.4 1:perm:local:552:5.3.4 "
            "2:perm:local:552:5.3.4");
  EXPECT_TRUE(S().ready());
  EXPECT_EQ(handler_.ready, 2);
}

constexpr absl::string_view kDelivered =
    "0:delivered:end of data:250:2.0.0 1:delivered:end of data:250:2.0.0 "
    "2:delivered:end of data:250:2.0.0";

TEST_F(ClientSessionTest, DeeperPipelineSendsEveryBdatTransactionInOneRoundTrip) {
  config_.pipeline_depth = 4;
  Connect(kEhloChunking);
  const std::string batch = BdatBatch(body_.size(), body_);
  EXPECT_EQ(Start(), batch);
  for (int i = 1; i < 4; ++i) {
    ASSERT_TRUE(S().can_pipeline()) << i;
    ASSERT_TRUE(S().StartTransaction(Message()).ok()) << i;
    EXPECT_EQ(Drain(), batch) << i;  // before any reply
  }
  EXPECT_EQ(S().transactions_in_flight(), 4u);
  EXPECT_FALSE(S().can_pipeline());  // the depth
  EXPECT_FALSE(S().StartTransaction(Message()).ok());
  // The first ends: one more may go behind the fourth.
  EXPECT_EQ(Server(absl::StrCat(kAllAccepted, "250 2.0.0 one\r\n")), "");
  EXPECT_EQ(S().transactions_in_flight(), 3u);
  EXPECT_TRUE(S().can_pipeline());
  EXPECT_EQ(handler_.can_pipeline, 1);
  // The other three answer in one read; results come in order, then OnReady().
  EXPECT_EQ(Server(absl::StrCat(kAllAccepted, "250 2.0.0 two\r\n", kAllAccepted,
                                "250 2.0.0 three\r\n", kAllAccepted, "250 2.0.0 four\r\n")),
            "");
  ASSERT_EQ(handler_.transactions.size(), 4u);
  for (const std::string& t : handler_.transactions) EXPECT_EQ(t, kDelivered);
  EXPECT_EQ(handler_.replies.back(), "250 2.0.0 four");
  EXPECT_TRUE(S().ready());
  EXPECT_EQ(handler_.ready, 2);
  EXPECT_EQ(counters_.transactions_pipelined.load(), 3u);
  // The ring is reused: four more, in a different place of it.
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(S().StartTransaction(Message()).ok()) << i;
  Drain();
  EXPECT_EQ(Server(absl::StrCat(kAllAccepted, "250 2.0.0 5\r\n", kAllAccepted, "250 2.0.0 6\r\n",
                                kAllAccepted, "250 2.0.0 7\r\n", kAllAccepted, "250 2.0.0 8\r\n")),
            "");
  ASSERT_EQ(handler_.transactions.size(), 8u);
  EXPECT_EQ(handler_.replies.back(), "250 2.0.0 8");
  EXPECT_TRUE(S().ready());
}

TEST_F(ClientSessionTest, DeeperPipelineWithDataHoldsTwo) {
  config_.pipeline_depth = 4;
  Connect();
  Start();
  handler_.on_can_pipeline = [this] { ASSERT_TRUE(S().StartTransaction(Message()).ok()); };
  EXPECT_EQ(Server(absl::StrCat(kAllAccepted, "354 go\r\n")),
            absl::StrCat(body_, ".\r\n", Batch(body_.size())));
  // The second's body waits for its 354, which follows the first's end-of-data reply.
  EXPECT_EQ(S().transactions_in_flight(), 2u);
  EXPECT_FALSE(S().can_pipeline());
}

TEST_F(ClientSessionTest, DeeperPipelineStopsAtTheBacklogOfUnsentBodies) {
  config_.pipeline_depth = 8;
  const std::string big(kPipelineBacklogBytesMax / 2 + 1, 'x');
  body_ = big;
  Connect("250-mx.test Hello\r\n250-PIPELINING\r\n250 CHUNKING\r\n");
  ASSERT_TRUE(S().StartTransaction(Message()).ok());
  ASSERT_TRUE(S().can_pipeline());  // a second one always
  ASSERT_TRUE(S().StartTransaction(Message()).ok());
  EXPECT_FALSE(S().can_pipeline());  // over 256 KiB of bodies not sent yet
  Drain();
  EXPECT_TRUE(S().can_pipeline());  // sent: a third may go
}

TEST_F(ClientSessionTest, DeeperPipelineBehindAnOpenTransactionRetriesEachOneBehindIt) {
  config_.pipeline_depth = 3;
  Connect(kEhloChunking);
  Start();
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(S().StartTransaction(Message()).ok());
  Drain();
  // The first chunk is refused and its transaction kept open: both MAILs behind it nest.
  EXPECT_EQ(Server(absl::StrCat(kAllAccepted, "554 5.6.0 spam\r\n")), "");
  const std::string nested =
      "503 5.5.1 nested MAIL command\r\n503 5.5.1 x\r\n503 5.5.1 x\r\n503 5.5.1 x\r\n"
      "503 5.5.1 no valid recipients\r\n";
  EXPECT_EQ(Server(nested), "");  // the third is still on the wire: no RSET yet
  EXPECT_EQ(Server(nested), "RSET\r\n");
  ASSERT_EQ(handler_.transactions.size(), 3u);
  const std::string retried =
      "0:temp:MAIL FROM:451:4.5.0 1:temp:MAIL FROM:451:4.5.0 2:temp:MAIL FROM:451:4.5.0 "
      "[retry at once]";
  EXPECT_EQ(handler_.transactions[1], retried);
  EXPECT_EQ(handler_.transactions[2], retried);
  EXPECT_EQ(Server("250 2.0.0 Ok\r\n"), "");
  EXPECT_TRUE(S().ready());
  EXPECT_TRUE(S().transaction_pipelining_refused());
}

TEST_F(ClientSessionTest, DeeperPipelineReportsALocalRefusalInItsTurn) {
  config_.pipeline_depth = 3;
  Connect(kEhloChunking);
  const std::string batch = BdatBatch(body_.size(), body_);
  EXPECT_EQ(Start(), batch);
  OutboundMessage too_big = Message();
  const std::string big(20000, 'x');  // SIZE 10000
  too_big.body = big;
  ASSERT_TRUE(S().StartTransaction(too_big).ok());
  EXPECT_EQ(Drain(), "");
  EXPECT_FALSE(S().can_pipeline());  // nothing of the newest is queued
  EXPECT_EQ(Server(absl::StrCat(kAllAccepted, "250 2.0.0 first\r\n")), "");
  ASSERT_EQ(handler_.transactions.size(), 2u);
  EXPECT_EQ(handler_.transactions[1],
            "0:perm:local:552:5.3.4 1:perm:local:552:5.3.4 2:perm:local:552:5.3.4");
  EXPECT_TRUE(S().ready());
}

TEST_F(ClientSessionTest, DeeperPipelineLostConnectionReportsEveryTransactionInOrder) {
  config_.pipeline_depth = 5;
  Connect(kEhloChunking);
  Start();
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(S().StartTransaction(Message()).ok());
  Drain();
  EXPECT_EQ(Server(absl::StrCat(kAllAccepted, "250 2.0.0 one\r\n250 Ok\r\n")), "");
  S().OnDisconnected();
  ASSERT_EQ(handler_.transactions.size(), 5u);
  EXPECT_EQ(handler_.transactions[0], kDelivered);
  for (size_t i = 1; i < 5; ++i) {
    EXPECT_EQ(handler_.transactions[i],
              "0:temp:connection:451:4.4.2 1:temp:connection:451:4.4.2 "
              "2:temp:connection:451:4.4.2 [connection failed]");
  }
  EXPECT_EQ(S().transactions_in_flight(), 0u);
}

TEST_F(ClientSessionTest, NoPipeliningAcrossTransactionsWithoutPipeliningOrWhenTurnedOff) {
  Connect(kEhloPlain);
  Start();
  EXPECT_EQ(Server("250 Ok\r\n"), "RCPT TO:<r0@dest.test>\r\n");
  EXPECT_EQ(Server("250 Ok\r\n250 Ok\r\n"), "RCPT TO:<r1@dest.test>\r\nRCPT TO:<r2@dest.test>\r\n");
  EXPECT_EQ(Server("250 Ok\r\n"), "DATA\r\n");
  EXPECT_EQ(Server("354 go\r\n"), absl::StrCat(body_, ".\r\n"));
  EXPECT_FALSE(S().can_pipeline());
  EXPECT_FALSE(S().StartTransaction(Message()).ok());

  config_.pipeline_transactions = false;
  session_.reset();
  Connect(kEhloChunking);
  Start();
  EXPECT_FALSE(S().can_pipeline());
  EXPECT_EQ(handler_.can_pipeline, 0);
}

// ---------------------------------------------------------------------------------------
// Failures: disconnects, timeouts, hostile replies.

// Phases of one pipelined transaction, with the server bytes that lead there.
struct Phase {
  const char* name;
  const char* server_bytes;  // after Connect() and Start()
};
const Phase kTransactionPhases[] = {
    {"waiting for MAIL", ""},
    {"waiting for RCPT", "250 Ok\r\n"},
    {"waiting for DATA", "250 Ok\r\n250 Ok\r\n550 no\r\n250 Ok\r\n"},
    {"after the dot", "250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n354 go\r\n"},
    {"mid multi-line final reply", "250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n354 go\r\n250-Ok\r\n"},
};

TEST_F(ClientSessionTest, DisconnectInEveryTransactionPhaseMakesEveryRecipientTemp) {
  for (const Phase& phase : kTransactionPhases) {
    SCOPED_TRACE(phase.name);
    session_.reset();
    handler_ = RecordingHandler();
    Connect();
    Start();
    Server(phase.server_bytes);
    EXPECT_TRUE(handler_.transactions.empty());
    S().OnDisconnected();
    EXPECT_EQ(LastTransaction(),
              "0:temp:connection:451:4.4.2 1:temp:connection:451:4.4.2 "
              "2:temp:connection:451:4.4.2 [connection failed]");
    EXPECT_EQ(handler_.failures, 1);
    EXPECT_EQ(handler_.failure.code(), absl::StatusCode::kUnavailable);
    EXPECT_TRUE(S().wants_close());
    // Late bytes and events change nothing.
    S().Consume("250 Ok\r\n");
    S().OnDisconnected();
    S().OnTimeout();
    EXPECT_EQ(handler_.transactions.size(), 1u);
    EXPECT_EQ(handler_.failures, 1);
  }
}

TEST_F(ClientSessionTest, TimeoutInEveryTransactionPhaseMakesEveryRecipientTemp) {
  for (const Phase& phase : kTransactionPhases) {
    SCOPED_TRACE(phase.name);
    session_.reset();
    handler_ = RecordingHandler();
    Connect();
    Start();
    Server(phase.server_bytes);
    S().OnTimeout();
    EXPECT_EQ(LastTransaction(),
              "0:temp:connection:451:4.4.2 1:temp:connection:451:4.4.2 "
              "2:temp:connection:451:4.4.2 [connection failed]");
    EXPECT_EQ(handler_.failure.code(), absl::StatusCode::kDeadlineExceeded);
  }
}

TEST_F(ClientSessionTest, DisconnectBeforeReadyOrDuringRset) {
  S().OnDisconnected();  // before the greeting
  EXPECT_EQ(handler_.failures, 1);
  EXPECT_TRUE(handler_.transactions.empty());
  session_.reset();
  handler_ = RecordingHandler();
  Server(kGreeting);
  S().OnDisconnected();  // waiting for EHLO's reply
  EXPECT_EQ(handler_.failures, 1);
  session_.reset();
  handler_ = RecordingHandler();
  Connect();
  Start();
  Server("250 Ok\r\n550 a\r\n550 b\r\n550 c\r\n554 none\r\n");  // RSET sent
  ASSERT_EQ(handler_.transactions.size(), 1u);
  S().OnDisconnected();  // waiting for RSET's reply: the transaction is already reported
  EXPECT_EQ(handler_.transactions.size(), 1u);
  EXPECT_EQ(handler_.failures, 1);
}

TEST_F(ClientSessionTest, ServerShutdown421FailsTheConnection) {
  Connect();
  Start();
  EXPECT_EQ(Server("250 Ok\r\n421 4.3.2 shutting down\r\n"), "");
  // The server's own 421 is every recipient's reply (the log and shaping rules see it).
  EXPECT_EQ(LastTransaction(),
            "0:temp:connection:421:4.3.2 1:temp:connection:421:4.3.2 "
            "2:temp:connection:421:4.3.2 [connection failed]");
  EXPECT_EQ(handler_.failure_reply_code, 421);
}

TEST_F(ClientSessionTest, HostileRepliesFailTheConnectionWithEveryRecipientTemp) {
  std::string overlong = absl::StrCat("250 ", std::string(600, 'x'), "\r\n");
  std::string endless_continuation;
  for (int i = 0; i < 1000; ++i) endless_continuation += "250-x\r\n";
  const std::vector<std::string> hostile = {
      overlong,
      endless_continuation,
      "abc garbage\r\n",
      std::string("250 O\0k\r\n", 9),
      "250-a\r\n550 b\r\n",
      "354 not now\r\n",  // 354 to MAIL
      std::string(1 << 20, 'z'),
  };
  for (const std::string& bytes : hostile) {
    SCOPED_TRACE(bytes.substr(0, 20));
    session_.reset();
    handler_ = RecordingHandler();
    counters_.replies_malformed = 0;
    Connect();
    Start();
    EXPECT_EQ(Server(bytes), "");
    EXPECT_EQ(LastTransaction(),
              "0:temp:connection:451:4.5.0 1:temp:connection:451:4.5.0 "
              "2:temp:connection:451:4.5.0 [connection failed]");
    EXPECT_EQ(handler_.failures, 1);
    EXPECT_TRUE(S().wants_close());
    EXPECT_EQ(counters_.replies_malformed.load(), 1u);
  }
}

TEST_F(ClientSessionTest, UnexpectedCodesAtEachStageAreProtocolErrors) {
  const std::vector<std::string> scripts = {
      "250 Ok\r\n334 what\r\n",                                           // RCPT
      "250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n",               // DATA answered 250
      "250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n354 go\r\n354 again\r\n",  // final dot
  };
  for (const std::string& script : scripts) {
    session_.reset();
    handler_ = RecordingHandler();
    Connect();
    Start();
    Server(script);
    EXPECT_EQ(handler_.failures, 1) << script;
    EXPECT_TRUE(absl::EndsWith(LastTransaction(), "[connection failed]")) << script;
  }
}

TEST_F(ClientSessionTest, UnsolicitedReplyWhileIdleFails) {
  Connect();
  EXPECT_EQ(Server("250 surprise\r\n"), "");
  EXPECT_EQ(handler_.failures, 1);
  EXPECT_TRUE(handler_.transactions.empty());
}

TEST_F(ClientSessionTest, BodyStillQueuedIsDiscardedOnFailure) {
  Connect();
  Start();
  S().Consume("250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n354 go\r\n");
  ASSERT_GT(S().output().pending_external_bytes(), 0u);
  S().output().Consume(3);  // part of the body was sent
  S().OnDisconnected();
  EXPECT_TRUE(S().wants_close());
  EXPECT_TRUE(S().discard_output());
  // A send that was in flight may still complete.
  S().output().Consume(2);
}

// ---------------------------------------------------------------------------------------
// Timeouts per phase (RFC 5321 §4.5.3.2).

TEST_F(ClientSessionTest, CurrentTimeoutFollowsThePhase) {
  config_.greeting_timeout = absl::Seconds(1);
  config_.command_timeout = absl::Seconds(2);
  config_.mail_timeout = absl::Seconds(3);
  config_.rcpt_timeout = absl::Seconds(4);
  config_.data_init_timeout = absl::Seconds(5);
  config_.data_block_timeout = absl::Seconds(6);
  config_.data_final_timeout = absl::Seconds(7);
  EXPECT_EQ(S().current_timeout(), absl::Seconds(1));
  Server(kGreeting);
  EXPECT_EQ(S().current_timeout(), absl::Seconds(2));
  Server(kEhloPlain);
  EXPECT_EQ(S().current_timeout(), absl::InfiniteDuration());
  Start();
  EXPECT_EQ(S().current_timeout(), absl::Seconds(3));
  Server("250 Ok\r\n");
  EXPECT_EQ(S().current_timeout(), absl::Seconds(4));
  Server("250 Ok\r\n250 Ok\r\n250 Ok\r\n");
  EXPECT_EQ(S().current_timeout(), absl::Seconds(5));
  S().Consume("354 go\r\n");
  EXPECT_EQ(S().current_timeout(), absl::Seconds(6));
  Drain();
  EXPECT_EQ(S().current_timeout(), absl::Seconds(7));
  Server("250 Ok\r\n");
  ASSERT_TRUE(S().Quit().ok());
  EXPECT_EQ(S().current_timeout(), absl::Seconds(2));
}

// ---------------------------------------------------------------------------------------
// Splits.

// One whole conversation driven from OnReady: two messages, mixed results, QUIT.
std::string RunConversation(const std::vector<absl::string_view>& pieces) {
  ClientConfig config;
  config.helo_name = "relay.test";
  RecordingHandler handler;
  ClientCounters counters;
  SmtpClientSession session(config, &handler, &counters);
  const std::vector<OutboundRecipient> recipients = {
      {"a@d.test", 7}, {"b@d.test", 8}, {"c@d.test", 9}};
  const std::string body = "x\r\n..y\r\n";
  int started = 0;
  handler.on_ready = [&] {
    if (started == 2) {
      EXPECT_TRUE(session.Quit().ok());
      return;
    }
    ++started;
    OutboundMessage message;
    message.sender = "s@src.test";
    message.recipients = recipients;
    message.body = body;
    EXPECT_TRUE(session.StartTransaction(message).ok());
  };
  std::string sent;
  for (absl::string_view piece : pieces) {
    session.Consume(piece);
    absl::string_view out[8];
    while (!session.output().empty()) {
      const size_t n = session.output().Peek(out);
      size_t total = 0;
      for (size_t i = 0; i < n; ++i) {
        sent.append(out[i].data(), out[i].size());
        total += out[i].size();
      }
      session.output().Consume(total);
    }
  }
  return absl::StrCat(sent, "|", absl::StrJoin(handler.transactions, "/"), "|",
                      absl::StrJoin(handler.replies, "/"), "|", handler.ready, "|",
                      handler.failures, "|", session.wants_close());
}

// The conversation gives `whole` with the script cut in two at every byte, and byte by byte.
void ExpectEverySplitGives(const std::string& script, const std::string& whole) {
  for (size_t split = 1; split < script.size(); ++split) {
    const absl::string_view s = script;
    ASSERT_EQ(RunConversation({s.substr(0, split), s.substr(split)}), whole) << split;
  }
  std::vector<absl::string_view> bytes;
  for (size_t i = 0; i < script.size(); ++i)
    bytes.push_back(absl::string_view(script).substr(i, 1));
  EXPECT_EQ(RunConversation(bytes), whole);
}

TEST(ClientSessionSplit, EveryReplySplitAtEveryBytePositionGivesIdenticalResults) {
  const std::string script = absl::StrCat(
      kGreeting, kEhloPipelining,
      // Message 1: mixed results, delivered to the accepted one.
      "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n450-4.2.1 busy\r\n450 4.2.1 really\r\n550 5.1.1 no\r\n"
      "354 go\r\n250 2.0.0 queued\r\n",
      // Message 2: every recipient refused, DATA refused, RSET; then QUIT.
      "250 Ok\r\n550 5.1.1 a\r\n550 5.1.1 b\n550 5.1.1 c\r\n554 5.5.1 none\r\n250 2.0.0 reset\r\n"
      "221 Bye\r\n");
  const std::string whole = RunConversation({script});
  EXPECT_EQ(
      whole,
      absl::StrCat("EHLO relay.test\r\n"
                   "MAIL FROM:<s@src.test> SIZE=8\r\nRCPT TO:<a@d.test>\r\nRCPT TO:<b@d.test>\r\n"
                   "RCPT TO:<c@d.test>\r\nDATA\r\nx\r\n..y\r\n.\r\n"
                   "MAIL FROM:<s@src.test> SIZE=8\r\nRCPT TO:<a@d.test>\r\nRCPT TO:<b@d.test>\r\n"
                   "RCPT TO:<c@d.test>\r\nDATA\r\nRSET\r\nQUIT\r\n",
                   "|7:delivered:end of data:250:2.0.0 8:temp:RCPT TO:450:4.2.1 "
                   "9:perm:RCPT TO:550:5.1.1/7:perm:RCPT TO:550:5.1.1 8:perm:RCPT TO:550:5.1.1 "
                   "9:perm:RCPT TO:550:5.1.1",
                   "|250 2.0.0 queued/450 4.2.1 busy really/550 5.1.1 no/550 5.1.1 a/550 5.1.1 b/"
                   "550 5.1.1 c|3|0|1"));
  ExpectEverySplitGives(script, whole);
}

TEST(ClientSessionSplit, EveryReplySplitAtEveryBytePositionGivesIdenticalResultsWithBdat) {
  const std::string script = absl::StrCat(
      kGreeting, kEhloChunking,
      // Message 1: mixed results; the reply to BDAT LAST delivers the accepted one.
      "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n450-4.2.1 busy\r\n450 4.2.1 really\r\n550 5.1.1 no\r\n"
      "250 2.0.0 queued\r\n",
      // Message 2: every recipient refused, BDAT's reply absorbed, RSET; then QUIT.
      "250 Ok\r\n550 5.1.1 a\r\n550 5.1.1 b\n550 5.1.1 c\r\n554 5.5.1 none\r\n250 2.0.0 reset\r\n"
      "221 Bye\r\n");
  const std::string whole = RunConversation({script});
  EXPECT_EQ(
      whole,
      absl::StrCat("EHLO relay.test\r\n"
                   "MAIL FROM:<s@src.test> SIZE=8\r\nRCPT TO:<a@d.test>\r\nRCPT TO:<b@d.test>\r\n"
                   "RCPT TO:<c@d.test>\r\nBDAT 7 LAST\r\nx\r\n.y\r\n"
                   "MAIL FROM:<s@src.test> SIZE=8\r\nRCPT TO:<a@d.test>\r\nRCPT TO:<b@d.test>\r\n"
                   "RCPT TO:<c@d.test>\r\nBDAT 7 LAST\r\nx\r\n.y\r\nRSET\r\nQUIT\r\n",
                   "|7:delivered:end of data:250:2.0.0 8:temp:RCPT TO:450:4.2.1 "
                   "9:perm:RCPT TO:550:5.1.1/7:perm:RCPT TO:550:5.1.1 8:perm:RCPT TO:550:5.1.1 "
                   "9:perm:RCPT TO:550:5.1.1",
                   "|250 2.0.0 queued/450 4.2.1 busy really/550 5.1.1 no/550 5.1.1 a/550 5.1.1 b/"
                   "550 5.1.1 c|3|0|1"));
  ExpectEverySplitGives(script, whole);
}

TEST_F(ClientSessionTest, PrefixHeaderGoesBeforeTheBodyWithDataAndWithBdat) {
  const std::string prefix = "DKIM-Signature: v=1; a=rsa-sha256; b=abc\r\n";
  Connect(kEhloPipelining);
  OutboundMessage message = Message();
  message.prefix = prefix;
  ASSERT_TRUE(S().StartTransaction(message).ok());
  Drain();
  EXPECT_EQ(Server("250 2.1.0 ok\r\n250 2.1.5 ok\r\n250 2.1.5 ok\r\n250 2.1.5 ok\r\n354 go\r\n"),
            prefix + body_ + ".\r\n");

  session_.reset();
  handler_ = RecordingHandler();
  Connect(kEhloChunking);
  ASSERT_TRUE(S().StartTransaction(message).ok());
  const std::string sent = Drain();
  EXPECT_TRUE(absl::StrContains(
      sent, absl::StrCat("BDAT ", prefix.size() + body_.size(), " LAST\r\n", prefix, body_)))
      << sent;
}

constexpr absl::string_view kEhloStartTls =
    "250-mx.test Hello\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 SIZE 10000\r\n";

TEST_F(ClientSessionTest, OpportunisticStartTlsThenEhloAgain) {
  S().set_starttls(StartTlsPolicy::kOpportunistic);
  EXPECT_EQ(Server(kGreeting), "EHLO relay.test\r\n");
  EXPECT_EQ(Server(kEhloStartTls), "STARTTLS\r\n");
  EXPECT_EQ(handler_.ready, 0);
  EXPECT_EQ(Server("220 2.0.0 Ready to start TLS\r\n"), "");
  EXPECT_TRUE(S().wants_tls());
  EXPECT_EQ(S().current_timeout(), config_.command_timeout);  // bounds the handshake
  S().OnTlsStarted();
  EXPECT_TRUE(S().tls_active());
  EXPECT_FALSE(S().capabilities().pipelining);  // forgotten until the new EHLO
  EXPECT_EQ(Drain(), "EHLO relay.test\r\n");
  EXPECT_EQ(Server(kEhloStartTls), "");  // STARTTLS is not asked twice
  EXPECT_EQ(handler_.ready, 1);
  EXPECT_TRUE(S().capabilities().pipelining);
}

TEST_F(ClientSessionTest, OpportunisticGoesOnInPlaintextWhenNotOfferedOrRefused) {
  S().set_starttls(StartTlsPolicy::kOpportunistic);
  Server(kGreeting);
  EXPECT_EQ(Server(kEhloPipelining), "");
  EXPECT_EQ(handler_.ready, 1);
  EXPECT_FALSE(S().tls_active());

  session_.reset();
  handler_ = RecordingHandler();
  S().set_starttls(StartTlsPolicy::kOpportunistic);
  Server(kGreeting);
  EXPECT_EQ(Server(kEhloStartTls), "STARTTLS\r\n");
  EXPECT_EQ(Server("454 4.7.0 TLS not available due to temporary reason\r\n"), "");
  EXPECT_EQ(handler_.ready, 1);
  EXPECT_EQ(counters_.starttls_refused.load(), 1u);
}

TEST_F(ClientSessionTest, RequiredFailsWithoutStartTls) {
  for (absl::string_view ehlo : {kEhloPipelining, kEhloStartTls}) {
    session_.reset();
    handler_ = RecordingHandler();
    S().set_starttls(StartTlsPolicy::kRequired);
    Server(kGreeting);
    std::string sent = Server(ehlo);
    if (ehlo == kEhloStartTls) {
      EXPECT_EQ(sent, "STARTTLS\r\n");
      sent = Server("502 5.5.1 no\r\n");
    }
    EXPECT_EQ(sent, "QUIT\r\n");
    EXPECT_EQ(handler_.ready, 0);
    EXPECT_EQ(handler_.failures, 1);
    EXPECT_NE(handler_.failure.message().find("TLS is required"), std::string::npos);
    EXPECT_EQ(S().failure_enhanced().ToString(), "4.7.10");
  }
}

TEST_F(ClientSessionTest, ReplyInjectedAfterThe220IsAProtocolError) {
  S().set_starttls(StartTlsPolicy::kOpportunistic);
  Server(kGreeting);
  Server(kEhloStartTls);
  Server("220 2.0.0 go\r\n250 2.0.0 injected\r\n");
  EXPECT_FALSE(S().wants_tls());
  EXPECT_TRUE(S().wants_close());
  EXPECT_EQ(handler_.failures, 1);
}

TEST_F(ClientSessionTest, FailedHandshakeFailsTheConnectionWith475) {
  S().set_starttls(StartTlsPolicy::kOpportunistic);
  Server(kGreeting);
  Server(kEhloStartTls);
  Server("220 2.0.0 go\r\n");
  S().OnTlsStarted();
  S().OnTlsFailed("protocol version");
  EXPECT_EQ(handler_.failures, 1);
  EXPECT_EQ(S().failure_enhanced().ToString(), "4.7.5");
  EXPECT_TRUE(S().wants_close());
  EXPECT_EQ(counters_.tls_handshake_failures.load(), 1u);
}

}  // namespace
}  // namespace tern::net::smtp
