// Tests of the session's MessageSink::OnHeaderSection hook: called once per message when
// the header section is complete (the empty line, however the input is split; the end of
// the data when there is none), for DATA and BDAT; the sink's edits kept; its refusal
// answered 554 5.3.0 at the end of the data with the session going on.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "net/smtp/session.h"
#include "tests/net/smtp/fake_sink.h"

namespace tern::net::smtp {
namespace {

absl::Time FixedClock() { return absl::FromUnixSeconds(1700000000); }

const RelayPolicy& Policy() {
  static const RelayPolicy* policy =
      new RelayPolicy(*RelayPolicy::FromFlags("127.0.0.0/8", "example.com"));
  return *policy;
}

// Removes a leading "X-P: ...\r\n" line after Received:, or refuses when told to.
class HeaderSink : public testing::FakeSink {
 public:
  bool WantsHeaderSection() const override { return wants; }
  absl::Status OnHeaderSection(core::ByteBuffer* record, size_t body_begin,
                               size_t header_end) override {
    sections.emplace_back(record->view().substr(body_begin, header_end - body_begin));
    if (refuse) return absl::InvalidArgumentError("unknown egress pool \"x\"\r\n(X-P)");
    const absl::string_view section = record->view().substr(body_begin, header_end - body_begin);
    const size_t at = section.find("\r\nX-P: ");
    if (at == absl::string_view::npos) return absl::OkStatus();
    const size_t line_end = section.find("\r\n", at + 2);
    const size_t from = body_begin + at + 2;
    const size_t bytes = line_end + 2 - (at + 2);
    std::string rest(record->view().substr(from + bytes));
    record->Truncate(from);
    record->Append(rest);
    EXPECT_GT(bytes, 0u);
    return absl::OkStatus();
  }

  bool wants = true;
  bool refuse = false;
  std::vector<std::string> sections;
};

class HeaderSectionTest : public ::testing::Test {
 protected:
  HeaderSectionTest() {
    config_.hostname = "mx.tern.test";
    config_.max_message_size = 100000;
    config_.max_recipients = 5;
    config_.relay_policy = &Policy();
    config_.clock = &FixedClock;
    client_.address = "192.0.2.9";
    client_.port = 40000;
  }
  ~HeaderSectionTest() override { Reset(); }
  void Reset() {
    if (session_ != nullptr) {
      sink_.CompleteAll();
      session_.reset();
    }
  }
  SmtpSession& Session() {
    if (session_ == nullptr) {
      session_ = std::make_unique<SmtpSession>(config_, client_, &sink_, &counters_);
      session_->Start();
      Send("EHLO client.test\r\n");
    }
    return *session_;
  }
  std::string Send(absl::string_view input) {
    Session().Consume(input);
    std::string out(Session().output().Sendable());
    Session().output().Consume(out.size());
    return out;
  }
  // The committed record from the Received: header's end on.
  static std::string AfterReceived(const std::string& record) {
    const size_t at = record.find("+0000\r\n");
    return at == std::string::npos ? record : record.substr(at + 7);
  }

  SessionConfig config_;
  ClientInfo client_;
  HeaderSink sink_;
  SmtpCounters counters_;
  std::unique_ptr<SmtpSession> session_;
};

TEST_F(HeaderSectionTest, CalledOnceAtTheEmptyLineHoweverTheInputIsSplit) {
  const std::string data = "Subject: hi\r\nX-P: bulk\r\n\r\nbody\r\n\r\nX-P: kept\r\n.\r\n";
  for (size_t split = 0; split <= data.size(); ++split) {
    SCOPED_TRACE(split);
    Reset();
    sink_.sections.clear();
    sink_.pending.clear();
    Send("MAIL FROM:<a@b.test>\r\nRCPT TO:<x@example.com>\r\nDATA\r\n");
    Send(data.substr(0, split));
    Send(data.substr(split));
    ASSERT_EQ(sink_.sections.size(), 1u);
    EXPECT_TRUE(absl::StartsWith(sink_.sections[0], "Received: from client.test"));
    EXPECT_TRUE(absl::EndsWith(sink_.sections[0], "+0000\r\nSubject: hi\r\nX-P: bulk\r\n\r\n"))
        << sink_.sections[0];
    ASSERT_EQ(sink_.pending.size(), 1u);
    EXPECT_EQ(AfterReceived(sink_.pending[0].record),
              "Subject: hi\r\n\r\nbody\r\n\r\nX-P: kept\r\n");
  }
}

TEST_F(HeaderSectionTest, WithoutAnEmptyLineTheWholeBodyIsTheSection) {
  EXPECT_EQ(Send("MAIL FROM:<a@b.test>\r\nRCPT TO:<x@example.com>\r\nDATA\r\n"
                 "Subject: hi\r\nX-P: bulk\r\n.\r\n"),
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
  ASSERT_EQ(sink_.sections.size(), 1u);
  EXPECT_TRUE(absl::EndsWith(sink_.sections[0], "Subject: hi\r\nX-P: bulk\r\n"));
  ASSERT_EQ(sink_.pending.size(), 1u);
  EXPECT_EQ(AfterReceived(sink_.pending[0].record), "Subject: hi\r\n");
}

TEST_F(HeaderSectionTest, BdatChunksToo) {
  const std::string chunk1 = "Subject: hi\r\nX-P:";
  const std::string chunk2 = " bulk\r\n\r\nbody\r\n";
  EXPECT_EQ(
      Send(absl::StrCat("MAIL FROM:<a@b.test>\r\nRCPT TO:<x@example.com>\r\nBDAT ", chunk1.size(),
                        "\r\n", chunk1, "BDAT ", chunk2.size(), " LAST\r\n", chunk2)),
      absl::StrCat("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 ", chunk1.size(),
                   " bytes received\r\n"));
  ASSERT_EQ(sink_.sections.size(), 1u);
  ASSERT_EQ(sink_.pending.size(), 1u);
  EXPECT_EQ(AfterReceived(sink_.pending[0].record), "Subject: hi\r\n\r\nbody\r\n");
}

TEST_F(HeaderSectionTest, RefusalIs554At5_3_0AndTheSessionGoesOn) {
  sink_.refuse = true;
  EXPECT_EQ(Send("MAIL FROM:<a@b.test>\r\nRCPT TO:<x@example.com>\r\nDATA\r\n"
                 "X-P: x\r\n\r\nbody\r\n"),
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
  // Nothing is answered before the end of the data; the reason is made printable.
  EXPECT_EQ(Send("more body\r\n.\r\n"),
            "554 5.3.0 unknown egress pool \"x\"?"
            "?(X-P)\r\n");
  EXPECT_TRUE(sink_.pending.empty());
  EXPECT_EQ(counters_.messages_rejected.load(), 1u);
  sink_.refuse = false;
  EXPECT_EQ(Send("MAIL FROM:<a@b.test>\r\nRCPT TO:<x@example.com>\r\nDATA\r\n"
                 "Subject: ok\r\n\r\nbody\r\n.\r\n"),
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
  ASSERT_EQ(sink_.pending.size(), 1u);
}

TEST_F(HeaderSectionTest, NotCalledWhenTheSinkDoesNotWantIt) {
  sink_.wants = false;
  Send(
      "MAIL FROM:<a@b.test>\r\nRCPT TO:<x@example.com>\r\nDATA\r\n"
      "X-P: bulk\r\n\r\nbody\r\n.\r\n");
  EXPECT_TRUE(sink_.sections.empty());
  ASSERT_EQ(sink_.pending.size(), 1u);
  EXPECT_EQ(AfterReceived(sink_.pending[0].record), "X-P: bulk\r\n\r\nbody\r\n");
}

}  // namespace
}  // namespace tern::net::smtp
