// SourceSession: tern-bench source's per-connection SMTP client logic (source_session.h).
#include "tools/tern_bench/source_session.h"

#include "absl/strings/str_cat.h"
#include "core/check.h"

namespace tern::tools::tern_bench {

SourceSession::SourceSession(const SourceSessionConfig& config, SourceStats* stats)
    : config_(config), stats_(stats) {}

bool SourceSession::ready() const {
  if (state_ != State::kOpen || awaiting_rset_) return false;
  if (transactions_.empty()) return true;
  // Overlap the next message with the previous one's final reply (PIPELINING only).
  const Transaction& t = transactions_.front();
  return config_.overlap_messages && transactions_.size() == 1 && t.pipelined &&
         (t.body_queued || t.data_sent_ns != 0) && t.expected.size() == 1 &&
         t.expected.front() == Expect::kBody;
}

void SourceSession::OnConnected(int64_t now_ns) {
  CHECK(state_ == State::kConnecting);
  state_ = State::kGreeting;
  connected_ns_ = now_ns;
}

void SourceSession::Consume(absl::string_view bytes, int64_t now_ns) {
  while (!bytes.empty() && state_ != State::kClosed) {
    size_t used = 0;
    const net::smtp::ReplyParseResult result = parser_.Parse(bytes, &used);
    bytes.remove_prefix(used);
    if (result == net::smtp::ReplyParseResult::kNeedMore) return;
    if (result == net::smtp::ReplyParseResult::kError) {
      Fail();
      return;
    }
    stats_->CountReply(parser_.reply().code());
    OnReply(parser_.reply(), now_ns);
  }
}

void SourceSession::OnReply(const net::smtp::ServerReply& reply, int64_t now_ns) {
  switch (state_) {
    case State::kGreeting:
      stats_->Record(Phase::kGreeting, now_ns - connected_ns_);
      if (!reply.positive_completion()) return Fail();
      absl::StrAppend(&output_, "EHLO ", config_.helo, "\r\n");
      ehlo_sent_ns_ = now_ns;
      state_ = State::kEhlo;
      return;
    case State::kEhlo:
      if (!reply.positive_completion()) {
        absl::StrAppend(&output_, "HELO ", config_.helo, "\r\n");
        state_ = State::kHelo;
        return;
      }
      stats_->Record(Phase::kEhlo, now_ns - ehlo_sent_ns_);
      capabilities_ = net::smtp::ParseEhloReply(reply);
      if (config_.starttls && capabilities_.starttls && !tls_active_) {
        output_ += "STARTTLS\r\n";
        starttls_sent_ns_ = now_ns;
        state_ = State::kStartTls;
        return;
      }
      state_ = State::kOpen;
      return;
    case State::kStartTls:
      if (reply.code() != 220) return Fail();
      state_ = State::kTlsWanted;
      return;
    case State::kTlsWanted:
      return Fail();  // nothing may follow the 220 before the handshake
    case State::kHelo:
      if (!reply.positive_completion()) return Fail();
      stats_->Record(Phase::kEhlo, now_ns - ehlo_sent_ns_);
      state_ = State::kOpen;
      return;
    case State::kOpen: {
      if (awaiting_rset_) {
        awaiting_rset_ = false;  // whatever it says, the next MAIL will tell
        return;
      }
      if (transactions_.empty() || transactions_.front().expected.empty()) {
        return Fail();  // a reply nobody asked for (a 421 on an idle connection, say)
      }
      Transaction& t = transactions_.front();
      const Expect expect = t.expected.front();
      t.expected.pop_front();
      OnTransactionReply(t, expect, reply, now_ns);
      return;
    }
    case State::kQuit:
      state_ = State::kClosed;
      return;
    case State::kConnecting:
    case State::kClosed:
      return Fail();
  }
}

void SourceSession::OnTlsStarted(int64_t now_ns) {
  CHECK(state_ == State::kTlsWanted);
  tls_active_ = true;
  // RFC 3207 §4.2: what the server said before TLS is forgotten; ask again.
  capabilities_ = net::smtp::ServerCapabilities();
  absl::StrAppend(&output_, "EHLO ", config_.helo, "\r\n");
  ehlo_sent_ns_ = now_ns;
  state_ = State::kEhlo;
}

void SourceSession::OnTlsEstablished(int64_t now_ns) {
  stats_->Record(Phase::kTls, now_ns - starttls_sent_ns_);
  ehlo_sent_ns_ = now_ns;  // the EHLO was held until now
}

void SourceSession::StartMessage(const OutgoingMessage& message, int64_t now_ns) {
  CHECK(ready());
  CHECK(message.message != nullptr && !message.recipients.empty());
  Transaction& t = transactions_.emplace_back();
  t.message = message;
  t.pipelined = config_.pipelining && capabilities_.pipelining;
  t.chunked = config_.chunking && capabilities_.chunking;
  t.mail_sent_ns = now_ns;
  t.bytes = message.message->size;
  ++messages_started_;

  absl::StrAppend(&output_, "MAIL FROM:<", message.sender, ">");
  if (capabilities_.size) absl::StrAppend(&output_, " SIZE=", t.bytes);
  output_ += "\r\n";
  t.expected.push_back(Expect::kMail);
  if (!t.pipelined) return;  // the rest after each reply
  for (const std::string& rcpt : message.recipients) {
    absl::StrAppend(&output_, "RCPT TO:<", rcpt, ">\r\n");
    t.expected.push_back(Expect::kRcpt);
  }
  t.next_rcpt = message.recipients.size();
  if (t.chunked) {
    QueueChunk(t);
  } else {
    QueueDataCommand(t);
  }
}

void SourceSession::QueueChunk(Transaction& t) {
  const std::string& content = t.message.message->content;
  absl::StrAppend(&output_, "BDAT ", content.size(), " LAST\r\n", content);
  t.expected.push_back(Expect::kBody);
  t.body_queued = true;
}

void SourceSession::QueueDataCommand(Transaction& t) {
  output_ += "DATA\r\n";
  t.expected.push_back(Expect::kData);
}

void SourceSession::OnTransactionReply(Transaction& t, Expect expect,
                                       const net::smtp::ServerReply& reply, int64_t now_ns) {
  // The envelope ends with the 354 to DATA, or with BDAT with the last RCPT's reply.
  const bool envelope_done =
      expect == Expect::kData ||
      (t.chunked && expect == Expect::kRcpt && t.next_rcpt == t.message.recipients.size() &&
       (t.expected.empty() || t.expected.front() == Expect::kBody));
  if (envelope_done) stats_->Record(Phase::kEnvelope, now_ns - t.mail_sent_ns);

  switch (expect) {
    case Expect::kMail:
      if (reply.positive_completion()) {
        t.mail_accepted = true;
        if (!t.pipelined) SendNextUnpipelined(t);
      } else {
        t.failed = true;
        t.fail_stage = FailStage::kMail;
      }
      break;
    case Expect::kRcpt:
      if (reply.positive_completion()) {
        ++t.rcpts_accepted;
      } else if (t.mail_accepted) {
        stats_->RecipientRefused();  // (after a refused MAIL every RCPT fails anyway)
      }
      if (!t.pipelined) SendNextUnpipelined(t);
      break;
    case Expect::kData:
      if (!t.failed && t.rcpts_accepted == 0) {
        t.failed = true;
        t.fail_stage = FailStage::kRcpt;
      }
      if (reply.positive_intermediate()) {
        // 354: the message, or (nobody was accepted, yet the server wants data) a lone dot.
        if (t.failed) {
          output_ += ".\r\n";
        } else {
          output_ += t.message.message->data_wire;
          t.body_queued = true;
        }
        t.expected.push_back(Expect::kBody);
      } else if (!t.failed) {
        t.failed = true;
        t.fail_stage = FailStage::kData;
      }
      break;
    case Expect::kBody:
      if (t.data_sent_ns != 0) stats_->Record(Phase::kData, now_ns - t.data_sent_ns);
      if (!t.failed && t.rcpts_accepted == 0) {
        t.failed = true;
        t.fail_stage = FailStage::kRcpt;
      }
      if (!t.failed && !reply.positive_completion()) {
        t.failed = true;
        t.fail_stage = FailStage::kDataEnd;
      }
      t.end_replied = true;
      break;
    case Expect::kRset:
      CHECK(false);  // answered outside transactions
  }
  if (t.expected.empty()) EndTransaction(now_ns);
}

void SourceSession::SendNextUnpipelined(Transaction& t) {
  if (t.next_rcpt < t.message.recipients.size()) {
    absl::StrAppend(&output_, "RCPT TO:<", t.message.recipients[t.next_rcpt++], ">\r\n");
    t.expected.push_back(Expect::kRcpt);
    return;
  }
  if (t.rcpts_accepted == 0) {
    t.failed = true;
    t.fail_stage = FailStage::kRcpt;
    return;  // the transaction ends here (RSET follows)
  }
  if (t.chunked) {
    QueueChunk(t);
  } else {
    QueueDataCommand(t);
  }
}

void SourceSession::EndTransaction(int64_t now_ns) {
  CHECK(!transactions_.empty());
  const Transaction& t = transactions_.front();
  const bool delivered = !t.failed && t.end_replied;
  if (delivered) {
    stats_->MessageDelivered(t.bytes, static_cast<uint32_t>(t.rcpts_accepted));
    stats_->Record(Phase::kMessage, now_ns - t.message.start_ns);
  } else {
    stats_->MessageFailed(t.fail_stage);
  }
  // A transaction that failed before its end of data is still open on the server. (No
  // message can overlap it: the next one starts only after an end of data was sent.)
  const bool needs_rset = !delivered && t.mail_accepted && !t.end_replied;
  transactions_.pop_front();
  if (needs_rset) {
    CHECK(transactions_.empty());
    output_ += "RSET\r\n";
    awaiting_rset_ = true;
  }
}

void SourceSession::OnOutputTaken(int64_t now_ns) {
  for (Transaction& t : transactions_) {
    if (t.body_queued) {
      t.data_sent_ns = now_ns;
      t.body_queued = false;
    }
  }
}

void SourceSession::Quit() {
  if (idle()) {
    output_ += "QUIT\r\n";
    state_ = State::kQuit;
    return;
  }
  if (state_ == State::kQuit || state_ == State::kClosed) return;
  CHECK(state_ != State::kOpen);  // with a message in flight the owner waits for it to end
  output_.clear();
  state_ = State::kClosed;
}

void SourceSession::OnDisconnected() {
  if (state_ == State::kClosed) return;
  if (state_ == State::kQuit) {
    state_ = State::kClosed;  // the server closed after (or instead of) its 221
    return;
  }
  Fail();
}

void SourceSession::Fail() {
  for (size_t i = 0; i < transactions_.size(); ++i) {
    stats_->MessageFailed(FailStage::kConnection);
  }
  transactions_.clear();
  awaiting_rset_ = false;
  output_.clear();
  failed_ = true;
  state_ = State::kClosed;
}

}  // namespace tern::tools::tern_bench
