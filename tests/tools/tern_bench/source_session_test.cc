// SourceSession driven by scripted server replies: the commands it sends, the pipelined
// and one-by-one flows, BDAT, refusals, overlapping messages and lost connections.
#include "tools/tern_bench/source_session.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace tern::tools::tern_bench {
namespace {

constexpr absl::string_view kEhloFull =
    "250-sink\r\n250-PIPELINING\r\n250-SIZE 100000\r\n250-CHUNKING\r\n250 8BITMIME\r\n";
constexpr absl::string_view kEhloPlain = "250-sink\r\n250 8BITMIME\r\n";

class SourceSessionTest : public ::testing::Test {
 protected:
  SourceSessionTest() : factory_("t", 0, 8192) {
    factory_.Build(1, 1000, "a@x.test", "b@y.test", true, true, &message_);
  }

  void Open(absl::string_view ehlo_reply) {
    session_ = std::make_unique<SourceSession>(config_, stats_.get());
    session_->OnConnected(Now());
    Feed("220 sink ESMTP\r\n");
    EXPECT_EQ(Take(), "EHLO tern-bench.test\r\n");
    Feed(ehlo_reply);
    ASSERT_TRUE(session_->ready());
    ASSERT_TRUE(session_->idle());
  }
  int64_t Now() { return now_ += 1000; }
  void Feed(absl::string_view bytes) { session_->Consume(bytes, Now()); }
  std::string Take() {
    std::string out;
    out.swap(session_->output());
    session_->OnOutputTaken(Now());
    return out;
  }
  void Start() {
    OutgoingMessage m;
    m.sender = "a@x.test";
    m.recipients = recipients_;
    m.message = &message_;
    m.start_ns = Now();
    session_->StartMessage(m, Now());
  }

  SourceSessionConfig config_;
  std::unique_ptr<SourceStats> stats_ = std::make_unique<SourceStats>();
  std::unique_ptr<SourceSession> session_;
  MessageFactory factory_;
  GeneratedMessage message_;
  std::vector<std::string> recipients_ = {"b@y.test", "c@y.test"};
  int64_t now_ = 0;
};

TEST_F(SourceSessionTest, PipelinedMessageIsOneBatchThenTheBody) {
  Open(kEhloFull);
  Start();
  EXPECT_EQ(Take(), absl::StrCat("MAIL FROM:<a@x.test> SIZE=", message_.size,
                                 "\r\nRCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\nDATA\r\n"));
  EXPECT_FALSE(session_->ready());
  Feed("250 2.1.0 ok\r\n250 2.1.5 ok\r\n250 2.1.5 ok\r\n354 go\r\n");
  EXPECT_EQ(Take(), message_.data_wire);
  EXPECT_TRUE(session_->ready());  // the next message may overlap
  EXPECT_FALSE(session_->idle());
  Feed("250 2.0.0 queued\r\n");
  EXPECT_TRUE(session_->idle());
  EXPECT_EQ(stats_->delivered(), 1u);
  EXPECT_EQ(stats_->recipients_delivered(), 2u);
  EXPECT_EQ(stats_->phase(Phase::kData).count(), 1u);
  EXPECT_EQ(stats_->phase(Phase::kEnvelope).count(), 1u);
  EXPECT_EQ(stats_->phase(Phase::kMessage).count(), 1u);
  EXPECT_EQ(stats_->replies(250), 5u);  // EHLO's too
  session_->Quit();
  EXPECT_EQ(Take(), "QUIT\r\n");
  Feed("221 bye\r\n");
  EXPECT_TRUE(session_->closed());
  EXPECT_FALSE(session_->failed());
}

TEST_F(SourceSessionTest, OverlappingMessagesShareARoundTrip) {
  Open(kEhloFull);
  Start();
  Take();
  Feed("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n");
  ASSERT_TRUE(session_->ready());
  Start();  // before the body was even taken: one send carries both
  const std::string batch = Take();
  EXPECT_TRUE(absl::StartsWith(batch, message_.data_wire));
  EXPECT_TRUE(absl::EndsWith(batch, "DATA\r\n"));
  EXPECT_FALSE(session_->ready());  // two in flight at most
  Feed("250 first\r\n250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n");
  EXPECT_EQ(stats_->delivered(), 1u);
  EXPECT_EQ(Take(), message_.data_wire);
  Feed("451 4.3.0 later\r\n");
  EXPECT_EQ(stats_->failed_at(FailStage::kDataEnd), 1u);
  EXPECT_TRUE(session_->idle());
  EXPECT_EQ(Take(), "");  // no RSET after an end-of-data refusal
}

TEST_F(SourceSessionTest, OverlapCanBeTurnedOff) {
  config_.overlap_messages = false;
  Open(kEhloFull);
  Start();
  Take();
  Feed("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n");
  EXPECT_FALSE(session_->ready());
  EXPECT_EQ(Take(), message_.data_wire);
  Feed("250 ok\r\n");
  EXPECT_TRUE(session_->ready());
  EXPECT_TRUE(session_->idle());
}

TEST_F(SourceSessionTest, OneCommandPerRoundTripWithoutPipelining) {
  Open(kEhloPlain);
  Start();
  EXPECT_EQ(Take(), "MAIL FROM:<a@x.test>\r\n");
  Feed("250 ok\r\n");
  EXPECT_EQ(Take(), "RCPT TO:<b@y.test>\r\n");
  Feed("550 5.1.1 no such user\r\n");
  EXPECT_EQ(Take(), "RCPT TO:<c@y.test>\r\n");
  Feed("250 ok\r\n");
  EXPECT_EQ(Take(), "DATA\r\n");
  Feed("354 go\r\n");
  EXPECT_EQ(Take(), message_.data_wire);
  EXPECT_FALSE(session_->ready());  // no overlap without PIPELINING
  Feed("250 ok\r\n");
  EXPECT_EQ(stats_->delivered(), 1u);
  EXPECT_EQ(stats_->recipients_delivered(), 1u);
  EXPECT_EQ(stats_->recipients_refused(), 1u);
}

TEST_F(SourceSessionTest, PipeliningCanBeTurnedOff) {
  config_.pipelining = false;
  Open(kEhloFull);
  Start();
  EXPECT_EQ(Take(), absl::StrCat("MAIL FROM:<a@x.test> SIZE=", message_.size, "\r\n"));
}

TEST_F(SourceSessionTest, ChunkingSendsBdatWithTheContent) {
  config_.chunking = true;
  Open(kEhloFull);
  Start();
  const std::string batch = Take();
  EXPECT_TRUE(
      absl::StrContains(batch, absl::StrCat("RCPT TO:<c@y.test>\r\nBDAT ", message_.content.size(),
                                            " LAST\r\n", message_.content)));
  Feed("250 ok\r\n250 ok\r\n250 ok\r\n250 2.0.0 queued\r\n");
  EXPECT_EQ(stats_->delivered(), 1u);
  EXPECT_EQ(stats_->phase(Phase::kEnvelope).count(), 1u);
  EXPECT_EQ(stats_->bytes(), message_.content.size());
}

TEST_F(SourceSessionTest, RefusedMailAndRecipients) {
  Open(kEhloFull);
  Start();
  Take();
  Feed("452 4.3.1 full\r\n503 5.5.1 no mail\r\n503 5.5.1 no mail\r\n503 5.5.1 no rcpt\r\n");
  EXPECT_EQ(stats_->failed_at(FailStage::kMail), 1u);
  EXPECT_TRUE(session_->idle());
  EXPECT_EQ(Take(), "");  // MAIL was refused: nothing open on the server

  Start();
  Take();
  Feed("250 ok\r\n550 no\r\n550 no\r\n554 5.5.1 no valid recipients\r\n");
  EXPECT_EQ(stats_->failed_at(FailStage::kRcpt), 1u);
  EXPECT_EQ(stats_->recipients_refused(), 2u);
  EXPECT_FALSE(session_->ready());
  EXPECT_EQ(Take(), "RSET\r\n");
  Feed("250 2.0.0 ok\r\n");
  EXPECT_TRUE(session_->idle());
}

TEST_F(SourceSessionTest, LostConnectionFailsTheMessagesInFlight) {
  Open(kEhloFull);
  Start();
  Take();
  Feed("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n");
  Start();
  Take();
  session_->OnDisconnected();
  EXPECT_TRUE(session_->closed());
  EXPECT_TRUE(session_->failed());
  EXPECT_EQ(stats_->failed_at(FailStage::kConnection), 2u);
}

TEST_F(SourceSessionTest, RefusedGreetingAndGarbageFailTheSession) {
  session_ = std::make_unique<SourceSession>(config_, stats_.get());
  session_->OnConnected(Now());
  Feed("554 5.3.2 go away\r\n");
  EXPECT_TRUE(session_->failed());

  Open(kEhloFull);
  Feed("421 4.4.2 idle too long\r\n");  // nothing was asked
  EXPECT_TRUE(session_->failed());

  Open(kEhloFull);
  Feed("hello?\r\n");
  EXPECT_TRUE(session_->failed());
}

TEST_F(SourceSessionTest, HeloWhenEhloIsRefused) {
  session_ = std::make_unique<SourceSession>(config_, stats_.get());
  session_->OnConnected(Now());
  Feed("220 old\r\n");
  EXPECT_EQ(Take(), "EHLO tern-bench.test\r\n");
  Feed("502 5.5.1 what\r\n");
  EXPECT_EQ(Take(), "HELO tern-bench.test\r\n");
  Feed("250 hi\r\n");
  EXPECT_TRUE(session_->ready());
  Start();
  EXPECT_EQ(Take(), "MAIL FROM:<a@x.test>\r\n");  // no SIZE, no pipelining
}

TEST_F(SourceSessionTest, StartTlsWhenOfferedThenEhloAgain) {
  config_.starttls = true;
  session_ = std::make_unique<SourceSession>(config_, stats_.get());
  session_->OnConnected(Now());
  Feed("220 mx\r\n");
  EXPECT_EQ(Take(), "EHLO tern-bench.test\r\n");
  Feed("250-mx\r\n250-STARTTLS\r\n250 PIPELINING\r\n");
  EXPECT_EQ(Take(), "STARTTLS\r\n");
  EXPECT_FALSE(session_->ready());
  EXPECT_TRUE(session_->waiting_for_reply());
  Feed("220 2.0.0 go ahead\r\n");
  EXPECT_TRUE(session_->wants_tls());
  session_->OnTlsStarted(Now());
  EXPECT_TRUE(session_->tls_active());
  EXPECT_EQ(Take(), "EHLO tern-bench.test\r\n");
  EXPECT_FALSE(session_->ready());  // capabilities from before TLS are forgotten
  session_->OnTlsEstablished(Now());
  EXPECT_EQ(stats_->phase(Phase::kTls).count(), 1u);
  Feed("250-mx\r\n250-STARTTLS\r\n250 PIPELINING\r\n");  // not asked twice
  EXPECT_TRUE(session_->ready());
  EXPECT_EQ(Take(), "");
}

TEST_F(SourceSessionTest, StartTlsRefusedOrFollowedByPlaintextFails) {
  config_.starttls = true;
  for (absl::string_view answer :
       {"454 4.7.0 TLS not available\r\n", "220 2.0.0 go ahead\r\n250 injected\r\n"}) {
    session_ = std::make_unique<SourceSession>(config_, stats_.get());
    session_->OnConnected(Now());
    Feed("220 mx\r\n");
    Take();
    Feed("250-mx\r\n250 STARTTLS\r\n");
    EXPECT_EQ(Take(), "STARTTLS\r\n");
    Feed(answer);
    EXPECT_TRUE(session_->failed()) << answer;
    EXPECT_FALSE(session_->wants_tls()) << answer;
  }
}

TEST_F(SourceSessionTest, NoStartTlsWithoutTheOfferOrTheFlag) {
  config_.starttls = true;
  Open(kEhloFull);  // no STARTTLS offered: plaintext
  EXPECT_FALSE(session_->tls_active());
  config_.starttls = false;
  session_ = std::make_unique<SourceSession>(config_, stats_.get());
  session_->OnConnected(Now());
  Feed("220 mx\r\n");
  Take();
  Feed("250-mx\r\n250 STARTTLS\r\n");
  EXPECT_TRUE(session_->ready());
}

}  // namespace
}  // namespace tern::tools::tern_bench
