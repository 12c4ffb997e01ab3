// Implementation of net/smtp/client_session.h: one handler per awaited reply, the order of
// the transactions in flight (net/smtp/client_transaction.h keeps each one's recipients),
// and connection failure.
#include "net/smtp/client_session.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "net/smtp/dot_stuffing.h"

namespace tern::net::smtp {
namespace {

constexpr absl::string_view kQuitCommand = "QUIT\r\n";
constexpr absl::string_view kRsetCommand = "RSET\r\n";
constexpr absl::string_view kDot = ".\r\n";
constexpr absl::string_view kCrlf = "\r\n";

// RFC 3463: X.4.2 bad connection; X.5.0 other protocol status.
constexpr EnhancedCode kBadConnection{4, 4, 2};
constexpr EnhancedCode kProtocolStatus{4, 5, 0};
// RFC 3463 / RFC 7372: X.7.10 encryption needed; X.7.5 cryptographic failure.
constexpr EnhancedCode kEncryptionNeeded{4, 7, 10};
constexpr EnhancedCode kCryptographicFailure{4, 7, 5};
constexpr absl::string_view kStartTlsCommand = "STARTTLS\r\n";
constexpr int kConnectionFailureCode = 451;
// RFC 1870 §6.1 and RFC 6531 §3.4.
constexpr int kTooBigCode = 552;
constexpr EnhancedCode kTooBig{5, 3, 4};
constexpr int kNeedsSmtputf8Code = 553;
constexpr EnhancedCode kNeedsSmtputf8{5, 6, 7};

// Whether `t`, ended before its end-of-data reply, may have left a mail transaction open on
// the server: its MAIL was accepted, or it was refused for a transaction still open.
bool MayBeOpen(const ClientTransaction& t) { return !t.mail_failed || t.retry_at_once; }

// The stored body does not end with CRLF: DATA adds one before the dot, BDAT before the end.
bool NeedsFinalCrlf(absl::string_view body) {
  return !body.empty() && !absl::EndsWith(body, kCrlf);
}

}  // namespace

SmtpClientSession::SmtpClientSession(const ClientConfig& config, ClientSessionHandler* handler,
                                     ClientCounters* counters)
    : config_(config), handler_(handler), counters_(counters) {
  CHECK(handler != nullptr);
  CHECK(counters != nullptr);
  CHECK(config.pipeline_depth >= 1 && config.pipeline_depth <= kPipelineDepthMax);
  ring_.push_back(std::make_unique<ClientTransaction>());
}

SmtpClientSession::SmtpClientSession(const ClientConfig& config, ClientSessionHandler* handler,
                                     ClientCounters* counters,
                                     const ServerCapabilities& capabilities)
    : SmtpClientSession(config, handler, counters) {
  state_ = State::kReady;
  capabilities_ = capabilities;
  resumable_ = true;
}

absl::Status SmtpClientSession::Resume() {
  if (!resumable_) {
    return absl::FailedPreconditionError("Resume() on a session not constructed resumed, or again");
  }
  resumable_ = false;
  if (state_ != State::kReady || count_ > 0) {
    return absl::FailedPreconditionError("Resume() when the session is no longer idle");
  }
  ClientCounters::Add(counters_->connections_resumed, 1);
  NotifyReady();
  return absl::OkStatus();
}

bool SmtpClientSession::can_pipeline() const {
  if (!config_.pipeline_transactions || !capabilities_.pipelining || pipelining_refused_ ||
      count_ == 0 || count_ >= config_.pipeline_depth || reporting_ || !in_transaction()) {
    return false;
  }
  if (count_ >= 2 && output_.pending_external_bytes() >= kPipelineBacklogBytesMax) return false;
  const ClientTransaction& t = Slot(count_ - 1);  // the newest
  if (!t.in_flight || !t.fully_queued || t.aborting_data) return false;
  // Nobody accepted: the transaction stays open on the server until RSET, and a MAIL
  // behind it would be refused.
  return t.mail_failed || t.rcpt_replies < t.recipient_count() || t.accepted_count() > 0;
}

size_t SmtpClientSession::transactions_in_flight() const { return count_; }

bool SmtpClientSession::in_transaction() const {
  return state_ == State::kMail || state_ == State::kRcpt || state_ == State::kData ||
         state_ == State::kDataEnd;
}

absl::Duration SmtpClientSession::current_timeout() const {
  switch (state_) {
    case State::kGreeting:
      return config_.greeting_timeout;
    case State::kEhlo:
    case State::kHelo:
    case State::kStartTls:
    case State::kTlsWanted:  // the handshake
    case State::kRset:
    case State::kQuit:
      return config_.command_timeout;
    case State::kMail:
      return config_.mail_timeout;
    case State::kRcpt:
      return config_.rcpt_timeout;
    case State::kData:
      return config_.data_init_timeout;
    case State::kDataEnd:
      // While body bytes are still to be sent, each send gets a data block's time.
      return output_.pending_external_bytes() > 0 ? config_.data_block_timeout
                                                  : config_.data_final_timeout;
    case State::kReady:
    case State::kClosed:
      return absl::InfiniteDuration();
  }
  return absl::InfiniteDuration();
}

absl::string_view SmtpClientSession::WaitingFor() const {
  switch (state_) {
    case State::kGreeting:
      return "the greeting";
    case State::kEhlo:
      return "the reply to EHLO";
    case State::kHelo:
      return "the reply to HELO";
    case State::kStartTls:
      return "the reply to STARTTLS";
    case State::kTlsWanted:
      return "the TLS handshake";
    case State::kReady:
      return "nothing (idle)";
    case State::kMail:
      return "the reply to MAIL FROM";
    case State::kRcpt:
      return "the reply to RCPT TO";
    case State::kData:
      return "the reply to DATA";
    case State::kDataEnd:
      return current().chunking() ? "the reply to BDAT LAST" : "the reply to end of data";
    case State::kRset:
      return "the reply to RSET";
    case State::kQuit:
      return "the reply to QUIT";
    case State::kClosed:
      return "nothing (closed)";
  }
  return "unknown";
}

// ---------------------------------------------------------------------------------------
// Input.

void SmtpClientSession::Consume(absl::string_view bytes) {
  while (!bytes.empty() && state_ != State::kClosed) {
    size_t used = 0;
    const ReplyParseResult result = parser_.Parse(bytes, &used);
    CHECK_LE(used, bytes.size());
    bytes.remove_prefix(used);
    if (result == ReplyParseResult::kNeedMore) {
      CHECK(bytes.empty());
      return;
    }
    if (result == ReplyParseResult::kError) {
      ProtocolError(parser_.error_text(), nullptr);
      return;
    }
    OnReply(parser_.reply());
  }
}

void SmtpClientSession::OnDisconnected() {
  if (state_ == State::kClosed) return;
  if (state_ == State::kQuit) {  // the server may close without answering QUIT
    state_ = State::kClosed;
    return;
  }
  Fail(absl::UnavailableError(
           absl::StrCat("connection closed by server while waiting for ", WaitingFor())),
       nullptr, kBadConnection, /*send_quit=*/false);
}

void SmtpClientSession::OnTimeout() {
  if (state_ == State::kClosed) return;
  if (state_ == State::kQuit) {
    state_ = State::kClosed;
    discard_output_ = true;
    return;
  }
  ClientCounters::Add(counters_->timeouts, 1);
  Fail(absl::DeadlineExceededError(absl::StrCat("timeout waiting for ", WaitingFor())), nullptr,
       kBadConnection, /*send_quit=*/false);
}

void SmtpClientSession::OnReply(const ServerReply& reply) {
  // RFC 5321 §3.8: 421 may answer any command when the server is shutting down.
  if (reply.code() == 421 && state_ != State::kQuit) {
    Fail(absl::UnavailableError(
             absl::StrCat("server closing the connection while waiting for ", WaitingFor())),
         &reply, kBadConnection, /*send_quit=*/false);
    return;
  }
  switch (state_) {
    case State::kGreeting:
      return OnGreeting(reply);
    case State::kEhlo:
      return OnEhloReply(reply);
    case State::kHelo:
      return OnHeloReply(reply);
    case State::kStartTls:
      return OnStartTlsReply(reply);
    case State::kTlsWanted:
      // The server must wait for the handshake (RFC 3207 §4.2): a reply now is injected.
      return ProtocolError("reply after 220 to STARTTLS, before the TLS handshake", &reply);
    case State::kMail:
      return OnMailReply(reply);
    case State::kRcpt:
      return OnRcptReply(reply);
    case State::kData:
      return OnDataReply(reply);
    case State::kDataEnd:
      return OnDataEndReply(reply);
    case State::kRset:
      return OnRsetReply(reply);
    case State::kQuit:
      state_ = State::kClosed;  // 221 or anything else: we are done either way
      return;
    case State::kReady:
      return ProtocolError("unexpected reply while idle", &reply);
    case State::kClosed:
      return;
  }
}

// ---------------------------------------------------------------------------------------
// Connection set-up.

void SmtpClientSession::OnGreeting(const ServerReply& reply) {
  if (reply.code() == 220) {
    output_.Append(absl::StrCat("EHLO ", config_.helo_name, kCrlf));
    state_ = State::kEhlo;
    return;
  }
  if (reply.transient_failure() || reply.permanent_failure()) {
    // RFC 5321 §3.1: after a 554 greeting the client should send QUIT.
    Fail(absl::UnavailableError("server refused the connection in its greeting"), &reply,
         kBadConnection, /*send_quit=*/true);
    return;
  }
  ProtocolError("unexpected greeting", &reply);
}

void SmtpClientSession::OnEhloReply(const ServerReply& reply) {
  if (reply.positive_completion()) {
    capabilities_ = ParseEhloReply(reply);
    if (starttls_ != StartTlsPolicy::kNever && !tls_active_) {
      if (capabilities_.starttls) {
        output_.Append(kStartTlsCommand);
        state_ = State::kStartTls;
        return;
      }
      if (starttls_ == StartTlsPolicy::kRequired) {
        Fail(
            absl::FailedPreconditionError("TLS is required but the server does not offer STARTTLS"),
            nullptr, kEncryptionNeeded, /*send_quit=*/true);
        return;
      }
    }
    return BecomeReady();
  }
  if (reply.permanent_failure() && starttls_ == StartTlsPolicy::kRequired) {
    Fail(absl::FailedPreconditionError("TLS is required but the server refused EHLO"), &reply,
         kEncryptionNeeded, /*send_quit=*/true);
    return;
  }
  if (reply.permanent_failure()) {  // RFC 5321 §3.2: fall back to HELO
    output_.Append(absl::StrCat("HELO ", config_.helo_name, kCrlf));
    state_ = State::kHelo;
    return;
  }
  if (reply.transient_failure()) {
    Fail(absl::UnavailableError("server refused EHLO"), &reply, kBadConnection, true);
    return;
  }
  ProtocolError("unexpected reply to EHLO", &reply);
}

void SmtpClientSession::OnHeloReply(const ServerReply& reply) {
  if (reply.positive_completion()) {
    capabilities_ = ServerCapabilities();
    return BecomeReady();
  }
  if (reply.transient_failure() || reply.permanent_failure()) {
    Fail(absl::UnavailableError("server refused EHLO and HELO"), &reply, kBadConnection, true);
    return;
  }
  ProtocolError("unexpected reply to HELO", &reply);
}

void SmtpClientSession::OnStartTlsReply(const ServerReply& reply) {
  if (reply.code() == 220) {
    state_ = State::kTlsWanted;
    return;
  }
  if (starttls_ == StartTlsPolicy::kRequired ||
      !(reply.transient_failure() || reply.permanent_failure())) {
    Fail(absl::FailedPreconditionError("TLS is required but the server refused STARTTLS"), &reply,
         kEncryptionNeeded, /*send_quit=*/true);
    return;
  }
  // Opportunistic (RFC 7435): go on in plaintext with what the EHLO said.
  ClientCounters::Add(counters_->starttls_refused, 1);
  BecomeReady();
}

void SmtpClientSession::OnTlsStarted() {
  CHECK(state_ == State::kTlsWanted);
  tls_active_ = true;
  // RFC 3207 §4.2: the client must discard what it learnt and send EHLO again.
  capabilities_ = ServerCapabilities();
  output_.Append(absl::StrCat("EHLO ", config_.helo_name, kCrlf));
  state_ = State::kEhlo;
}

void SmtpClientSession::OnTlsFailed(absl::string_view why) {
  ClientCounters::Add(counters_->tls_handshake_failures, 1);
  Fail(absl::UnavailableError(absl::StrCat("TLS handshake failed: ", why)), nullptr,
       kCryptographicFailure, /*send_quit=*/false);
}

void SmtpClientSession::BecomeReady() {
  ClientCounters::Add(counters_->connections_ready, 1);
  state_ = State::kReady;
  NotifyReady();
}

void SmtpClientSession::NotifyReady() {
  // A handler that starts a transaction refused locally from OnReady() makes the session
  // ready again inside this call: loop instead of recursing.
  if (notifying_ready_) {
    ready_again_ = true;
    return;
  }
  notifying_ready_ = true;
  do {
    ready_again_ = false;
    handler_->OnReady();
  } while (ready_again_ && state_ == State::kReady);
  notifying_ready_ = false;
}

absl::Status SmtpClientSession::Quit() {
  resumable_ = false;
  if (in_transaction()) return absl::FailedPreconditionError("QUIT during a transaction");
  if (state_ == State::kQuit || state_ == State::kClosed) return absl::OkStatus();
  if (state_ == State::kReady) {
    output_.Append(kQuitCommand);
    state_ = State::kQuit;
    return absl::OkStatus();
  }
  // Greeting, EHLO/HELO or RSET still pending: nothing worth a goodbye.
  state_ = State::kClosed;
  discard_output_ = true;
  return absl::OkStatus();
}

void SmtpClientSession::OnRsetReply(const ServerReply& reply) {
  if (reply.positive_completion()) return BecomeReadyAfterRset();
  Fail(absl::UnavailableError("server refused RSET"), &reply, kBadConnection, true);
}

// ---------------------------------------------------------------------------------------
// Failure.

void SmtpClientSession::ProtocolError(absl::string_view what, const ServerReply* reply) {
  ClientCounters::Add(counters_->replies_malformed, 1);
  Fail(absl::UnavailableError(absl::StrCat("SMTP protocol error from server: ", what,
                                           " (waiting for ", WaitingFor(), ")")),
       reply, kProtocolStatus, /*send_quit=*/false);
}

void SmtpClientSession::Fail(const absl::Status& status, const ServerReply* reply,
                             const EnhancedCode& enhanced, bool send_quit) {
  if (state_ == State::kClosed) return;
  failure_enhanced_ = enhanced;
  // At least once: whatever the server may have done, nothing counts as delivered. A
  // server that closed with a reply (421, RFC 5321 §3.8) is quoted: its words ("421
  // 4.7.28 ... unusual rate") are what the log and the shaping rules need.
  const bool closing = reply != nullptr && reply->code() == 421;
  const std::string text = closing ? std::string()
                                   : absl::StrCat(kConnectionFailureCode, " ", enhanced.ToString(),
                                                  " ", status.message());
  ClientTransaction* lost[kPipelineDepthMax] = {};
  const size_t lost_count = count_;
  for (size_t i = 0; i < lost_count; ++i) lost[i] = &PopCurrent();
  for (size_t i = 0; i < lost_count; ++i) {
    ClientTransaction* t = lost[i];
    if (t->decided_locally) continue;
    if (closing) {
      t->FailAllQuoting(*reply, ReplyStage::kConnection, enhanced);
    } else {
      t->DecideAllWith(DeliveryOutcome::kTempFailed, ReplyStage::kConnection,
                       kConnectionFailureCode, enhanced, text);
    }
  }
  state_ = State::kClosed;
  // Bytes still queued (a body, commands) must not go out now; a send in flight may still
  // complete, so the queue stays as it is for output().Consume().
  if (send_quit && output_.empty()) {
    output_.Append(kQuitCommand);
  } else {
    discard_output_ = true;
  }
  ClientCounters::Add(counters_->connections_failed, 1);
  for (size_t i = 0; i < lost_count; ++i) ReportTransaction(*lost[i], /*connection_failed=*/true);
  handler_->OnConnectionFailed(status, reply);
}

// ---------------------------------------------------------------------------------------
// Transactions.

absl::Status SmtpClientSession::StartTransaction(const OutboundMessage& message) {
  const bool behind = state_ != State::kReady;
  if (reporting_ || (behind && !can_pipeline())) {
    return absl::FailedPreconditionError("StartTransaction when the session is not ready");
  }
  resumable_ = false;  // the owner went ahead without Resume()
  if (message.recipients.empty()) return absl::InvalidArgumentError("no recipients");
  if (message.recipients.size() > kTransactionRecipientsMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("more than ", kTransactionRecipientsMax, " recipients in one transaction"));
  }
  CHECK(behind || count_ == 0);
  ClientTransaction& t = behind ? AddBehind() : current();
  CHECK(!t.in_flight);
  if (absl::Status built = t.Build(message, capabilities_); !built.ok()) return built;
  t.in_flight = true;
  ++count_;
  if (behind) {
    StartNext(message);
    return absl::OkStatus();
  }
  if (RefuseLocally(message, t)) {
    // Nothing was sent: the session stays ready.
    ReportTransaction(PopCurrent(), /*connection_failed=*/false);
    NotifyReady();
    return absl::OkStatus();
  }
  t.pipelined = capabilities_.pipelining;
  state_ = State::kMail;
  pipelining_offered_ = false;
  if (t.pipelined) {
    SendBatch(t);
  } else {
    output_.Append(t.mail_command());
  }
  return absl::OkStatus();
}

ClientTransaction& SmtpClientSession::AddBehind() {
  CHECK_LT(count_, config_.pipeline_depth);
  if (count_ == ring_.size()) {
    // Full: unroll it so that the new slot goes behind the newest.
    std::rotate(ring_.begin(), ring_.begin() + static_cast<ptrdiff_t>(head_), ring_.end());
    head_ = 0;
    ring_.push_back(std::make_unique<ClientTransaction>());
  }
  return Slot(count_);
}

ClientTransaction& SmtpClientSession::PopCurrent() {
  CHECK_GT(count_, 0u);
  ClientTransaction& t = current();
  head_ = (head_ + 1) % ring_.size();
  --count_;
  return t;
}

void SmtpClientSession::StartNext(const OutboundMessage& message) {
  ClientTransaction& t = Slot(count_ - 1);
  pipelining_offered_ = false;
  t.behind = true;
  ClientCounters::Add(counters_->transactions_pipelined, 1);
  // Refused locally, it sends nothing and is reported after the current one, in order.
  if (RefuseLocally(message, t)) return;
  t.pipelined = true;
  SendBatch(t);
}

bool SmtpClientSession::RefuseLocally(const OutboundMessage& message, ClientTransaction& t) {
  int code = 0;
  EnhancedCode enhanced;
  std::string text;
  const uint64_t size = message.size != 0 ? message.size : message.body.size();
  if (capabilities_.size_max != 0 && size > capabilities_.size_max) {
    code = kTooBigCode;
    enhanced = kTooBig;
    text = absl::StrCat("message size ", size, " exceeds the server's limit of ",
                        capabilities_.size_max);
  } else if (message.needs_smtputf8 && !capabilities_.smtputf8) {
    code = kNeedsSmtputf8Code;
    enhanced = kNeedsSmtputf8;
    text = "message needs SMTPUTF8 but the server does not offer it";
  } else {
    return false;
  }
  t.DecideAllWith(DeliveryOutcome::kPermFailed, ReplyStage::kLocal, code, enhanced,
                  absl::StrCat(code, " ", enhanced.ToString(), " ", text));
  t.decided_locally = true;
  return true;
}

void SmtpClientSession::SendBatch(ClientTransaction& t) {
  // RFC 2920 §3.1: MAIL, every RCPT and DATA (the last command of a group) at once;
  // RFC 3030 §2: BDAT may be pipelined, and its chunk follows it at once.
  output_.Append(t.commands());
  if (t.chunking()) SendChunk(t);
}

void SmtpClientSession::SendBody(ClientTransaction& t) {
  // The stored body goes out by reference, as stored (RFC 5321 §4.5.2 stuffing is done).
  const absl::string_view body = t.body();
  if (!t.prefix().empty()) output_.Append(t.prefix());
  output_.AppendExternal(body);
  if (NeedsFinalCrlf(body)) output_.Append(kCrlf);
  output_.Append(kDot);
  t.fully_queued = true;
  ClientCounters::Add(counters_->messages_sent, 1);
  ClientCounters::Add(counters_->body_bytes_sent, body.size());
}

void SmtpClientSession::SendChunk(ClientTransaction& t) {
  // The stored body goes out by reference, without its stuffing dots, never copied.
  const absl::string_view body = t.body();
  if (!t.prefix().empty()) output_.Append(t.prefix());
  ForEachUnstuffedRange(body, [this](absl::string_view range) { output_.AppendExternal(range); });
  if (NeedsFinalCrlf(body)) output_.Append(kCrlf);
  t.fully_queued = true;
  ClientCounters::Add(counters_->messages_sent, 1);
  ClientCounters::Add(counters_->body_bytes_sent, body.size());
}

void SmtpClientSession::OnMailReply(const ServerReply& reply) {
  ClientTransaction& t = current();
  if (reply.positive_completion()) {
    state_ = State::kRcpt;
    if (!t.pipelined) output_.Append(t.rcpt_command(0));
    return;
  }
  if (!reply.transient_failure() && !reply.permanent_failure()) {
    return ProtocolError("unexpected reply to MAIL FROM", &reply);
  }
  t.mail_failed = true;
  if (t.behind && (reply.code() == 503 || t.behind_open)) {
    // Refused for being pipelined behind the previous transaction (a server that does not
    // take it, or one that kept that transaction open): not really tried.
    t.retry_at_once = true;
    if (reply.code() == 503) pipelining_refused_ = true;
    ClientCounters::Add(counters_->pipelining_refused, 1);
    std::string text = absl::StrCat(kConnectionFailureCode, " ", kProtocolStatus.ToString(),
                                    " MAIL FROM pipelined behind the previous transaction "
                                    "refused: ");
    reply.AppendSummary(kResultReplyBytesMax, &text);
    t.DecideAllWith(DeliveryOutcome::kTempFailed, ReplyStage::kMail, kConnectionFailureCode,
                    kProtocolStatus, text);
  } else {
    t.DecideAll(reply, ReplyStage::kMail, /*accepted_only=*/false);
  }
  if (!t.pipelined) return FinishTransaction(/*needs_rset=*/false);
  state_ = State::kRcpt;  // the RCPT and DATA replies of the batch are still to come
}

void SmtpClientSession::OnRcptReply(const ServerReply& reply) {
  ClientTransaction& t = current();
  CHECK_LT(t.rcpt_replies, t.recipient_count());
  const size_t i = t.rcpt_replies++;
  if (!t.mail_failed) {  // after a failed MAIL the RCPT replies mean nothing
    if (reply.positive_completion()) {
      t.Accept(i);
    } else if (reply.transient_failure() || reply.permanent_failure()) {
      t.Decide(i, reply, ReplyStage::kRcpt);
    } else {
      return ProtocolError("unexpected reply to RCPT TO", &reply);
    }
  }
  if (t.rcpt_replies < t.recipient_count()) {
    if (!t.pipelined) output_.Append(t.rcpt_command(t.rcpt_replies));
    return;
  }
  if (t.pipelined) {
    // DATA, or BDAT and its chunk, went out with the batch.
    state_ = t.chunking() ? State::kDataEnd : State::kData;
  } else if (t.accepted_count() > 0) {
    output_.Append(t.data_command());
    if (t.chunking()) {
      SendChunk(t);  // no intermediate reply to BDAT
      state_ = State::kDataEnd;
    } else {
      state_ = State::kData;
    }
  } else {
    FinishTransaction(/*needs_rset=*/true);
  }
}

void SmtpClientSession::OnDataReply(const ServerReply& reply) {
  ClientTransaction& t = current();
  const bool nobody = t.mail_failed || t.accepted_count() == 0;
  if (reply.code() == 354) {
    state_ = State::kDataEnd;
    if (nobody) {
      // RFC 2920 §3.1: DATA accepted with no valid recipient; end it with a lone dot.
      t.aborting_data = true;
      output_.Append(kDot);
      return;
    }
    SendBody(t);
    OfferPipelining();
    return;
  }
  if (!reply.transient_failure() && !reply.permanent_failure()) {
    return ProtocolError("unexpected reply to DATA", &reply);
  }
  // With nobody accepted, DATA's 503/554 is expected and absorbed.
  if (!nobody) t.DecideAll(reply, ReplyStage::kData, /*accepted_only=*/true);
  FinishTransaction(/*needs_rset=*/MayBeOpen(t));
}

void SmtpClientSession::OnDataEndReply(const ServerReply& reply) {
  ClientTransaction& t = current();
  if (t.aborting_data) return FinishTransaction(/*needs_rset=*/true);
  if (!reply.positive_completion() && !reply.transient_failure() && !reply.permanent_failure()) {
    return ProtocolError(
        t.chunking() ? "unexpected reply to BDAT LAST" : "unexpected reply to end of data", &reply);
  }
  if (t.chunking() && (t.mail_failed || t.accepted_count() == 0)) {
    // A pipelined BDAT after a refused MAIL or with no recipient accepted: its 503/554 is
    // expected and absorbed, as DATA's is.
    return FinishTransaction(/*needs_rset=*/MayBeOpen(t));
  }
  t.DecideAll(reply, ReplyStage::kDataEnd, /*accepted_only=*/true);
  // RFC 3030 §2: a 4xx/5xx to BDAT fails the transaction but, unlike the reply to the dot,
  // is not said to end it on the server: RSET makes sure (harmless if it did).
  FinishTransaction(/*needs_rset=*/t.chunking() && !reply.positive_completion());
}

void SmtpClientSession::FinishTransaction(bool needs_rset) {
  if (count_ > 1) {
    // The next transaction is on the wire already: no RSET can come before it.
    ReportTransaction(PopCurrent(), /*connection_failed=*/false);
    if (state_ != State::kClosed) AdvanceToNext(/*previous_open=*/needs_rset);
    return;
  }
  EndOfPipeline(needs_rset, PopCurrent());
}

void SmtpClientSession::EndOfPipeline(bool needs_rset, ClientTransaction& last) {
  if (needs_rset) {
    output_.Append(kRsetCommand);
    state_ = State::kRset;
  } else {
    state_ = State::kReady;
  }
  ReportTransaction(last, /*connection_failed=*/false);
  if (state_ == State::kReady) NotifyReady();
}

void SmtpClientSession::AdvanceToNext(bool previous_open) {
  // Transactions refused locally (nothing of them on the wire) are reported in their turn;
  // the one before them may still be open for the next one that was sent.
  while (count_ > 0 && current().decided_locally) {
    if (count_ == 1) return EndOfPipeline(previous_open, PopCurrent());
    ReportTransaction(PopCurrent(), /*connection_failed=*/false);
    if (state_ == State::kClosed) return;
  }
  CHECK_GT(count_, 0u);
  pipelining_offered_ = false;
  current().behind_open = previous_open;
  state_ = State::kMail;
  OfferPipelining();
}

void SmtpClientSession::OfferPipelining() {
  if (pipelining_offered_ || !can_pipeline()) return;
  pipelining_offered_ = true;
  handler_->OnCanPipeline();
}

void SmtpClientSession::BecomeReadyAfterRset() {
  state_ = State::kReady;
  NotifyReady();
}

void SmtpClientSession::ReportTransaction(ClientTransaction& t, bool connection_failed) {
  CHECK(t.in_flight);
  const TransactionCounts counts = t.CollectResults(&results_);
  ClientCounters::Add(counters_->transactions, 1);
  ClientCounters::Add(counters_->recipients_delivered, counts.delivered);
  ClientCounters::Add(counters_->recipients_temp_failed, counts.temp_failed);
  ClientCounters::Add(counters_->recipients_perm_failed, counts.perm_failed);
  // The transaction is over before the handler hears of it, so that it may start the next.
  t.in_flight = false;
  TransactionResult result;
  result.recipients = results_;
  result.connection_failed = connection_failed;
  result.retry_at_once = t.retry_at_once;
  reporting_ = true;
  handler_->OnTransactionDone(result);
  reporting_ = false;
}

}  // namespace tern::net::smtp
