// Implementation of net/smtp/client_session.h: one handler per awaited reply, the
// transaction's per-recipient bookkeeping, and connection failure.
#include "net/smtp/client_session.h"

#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "core/utf8.h"
#include "net/smtp/client_commands.h"
#include "net/smtp/dot_stuffing.h"

namespace tern::net::smtp {
namespace {

constexpr absl::string_view kQuitCommand = "QUIT\r\n";
constexpr absl::string_view kRsetCommand = "RSET\r\n";
constexpr absl::string_view kDataCommand = "DATA\r\n";
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

// The stored body does not end with CRLF: DATA adds one before the dot, BDAT before the end.
bool NeedsFinalCrlf(absl::string_view body) {
  return !body.empty() && !absl::EndsWith(body, kCrlf);
}

DeliveryOutcome OutcomeOf(int code) {
  if (code / 100 == 2) return DeliveryOutcome::kDelivered;
  if (code / 100 == 4) return DeliveryOutcome::kTempFailed;
  return DeliveryOutcome::kPermFailed;
}

}  // namespace

absl::string_view ReplyStageName(ReplyStage stage) {
  switch (stage) {
    case ReplyStage::kLocal:
      return "local";
    case ReplyStage::kConnection:
      return "connection";
    case ReplyStage::kMail:
      return "MAIL FROM";
    case ReplyStage::kRcpt:
      return "RCPT TO";
    case ReplyStage::kData:
      return "DATA";
    case ReplyStage::kDataEnd:
      return "end of data";
  }
  return "unknown";
}

SmtpClientSession::SmtpClientSession(const ClientConfig& config, ClientSessionHandler* handler,
                                     ClientCounters* counters)
    : config_(config), handler_(handler), counters_(counters) {
  CHECK(handler != nullptr);
  CHECK(counters != nullptr);
  // Spans are 32-bit: commands and replies of a transaction are far below 4 GiB.
  static_assert((kTransactionRecipientsMax + 3) * (kResultReplyBytesMax + 64) < UINT32_MAX);
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
  if (state_ != State::kReady || in_flight_) {
    return absl::FailedPreconditionError("Resume() when the session is no longer idle");
  }
  ClientCounters::Add(counters_->connections_resumed, 1);
  NotifyReady();
  return absl::OkStatus();
}

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
      return chunking_ ? "the reply to BDAT LAST" : "the reply to end of data";
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
  const bool had_transaction = in_flight_;
  if (had_transaction) {
    // At least once: whatever the server may have done, nothing counts as delivered. A
    // server that closed with a reply (421, RFC 5321 §3.8) is quoted: its words ("421
    // 4.7.28 ... unusual rate") are what the log and the shaping rules need.
    const bool closing = reply != nullptr && reply->code() == 421;
    const Span text = closing ? StoreReply(*reply)
                              : StoreText(absl::StrCat(kConnectionFailureCode, " ",
                                                       enhanced.ToString(), " ", status.message()));
    for (Recipient& recipient : recipients_) {
      recipient.outcome = DeliveryOutcome::kTempFailed;
      recipient.stage = ReplyStage::kConnection;
      recipient.code = closing ? reply->code() : kConnectionFailureCode;
      recipient.enhanced = closing && reply->enhanced().present() ? reply->enhanced() : enhanced;
      recipient.reply = text;
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
  if (had_transaction) ReportTransaction(/*connection_failed=*/true);
  handler_->OnConnectionFailed(status, reply);
}

// ---------------------------------------------------------------------------------------
// Transactions.

absl::Status SmtpClientSession::StartTransaction(const OutboundMessage& message) {
  if (state_ != State::kReady || reporting_) {
    return absl::FailedPreconditionError("StartTransaction when the session is not ready");
  }
  resumable_ = false;  // the owner went ahead without Resume()
  CHECK(!in_flight_);
  if (message.recipients.empty()) return absl::InvalidArgumentError("no recipients");
  if (message.recipients.size() > kTransactionRecipientsMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("more than ", kTransactionRecipientsMax, " recipients in one transaction"));
  }
  ResetTransaction();
  absl::Status built = BuildCommands(message);
  if (!built.ok()) {
    ResetTransaction();
    return built;
  }
  in_flight_ = true;
  body_ = message.body;
  prefix_.assign(message.prefix.data(), message.prefix.size());
  if (RefuseLocally(message)) return absl::OkStatus();
  pipelined_ = capabilities_.pipelining;
  state_ = State::kMail;
  if (pipelined_) {
    // RFC 2920 §3.1: MAIL, every RCPT and DATA (the last command of a group) at once;
    // RFC 3030 §2: BDAT may be pipelined, and its chunk follows it at once.
    output_.Append(commands_);
    if (chunking_) SendChunk();
  } else {
    SendCommand(mail_command_);
  }
  return absl::OkStatus();
}

absl::Status SmtpClientSession::BuildCommands(const OutboundMessage& message) {
  MailParameters params;
  if (capabilities_.size) params.size = message.size != 0 ? message.size : message.body.size();
  params.eight_bit_mime = message.eight_bit && capabilities_.eight_bit_mime;
  params.smtputf8 = message.needs_smtputf8 && capabilities_.smtputf8;
  if (capabilities_.dsn) {
    params.dsn_ret = message.dsn_ret;
    params.envid = message.envid;
  }
  if (!AppendMailFrom(message.sender, params, &commands_)) {
    return absl::InvalidArgumentError("sender address cannot be sent");
  }
  mail_command_ = {0, static_cast<uint32_t>(commands_.size())};
  recipients_.reserve(message.recipients.size());
  for (const OutboundRecipient& rcpt : message.recipients) {
    const auto start = static_cast<uint32_t>(commands_.size());
    RcptParameters rcpt_params;
    if (capabilities_.dsn) rcpt_params = {rcpt.notify, rcpt.orcpt};
    if (!AppendRcptTo(rcpt.address, rcpt_params, &commands_)) {
      return absl::InvalidArgumentError(
          absl::StrCat("recipient address ", rcpt.index, " cannot be sent"));
    }
    Recipient recipient{};
    recipient.index = rcpt.index;
    recipient.command = {start, static_cast<uint32_t>(commands_.size() - start)};
    recipients_.push_back(recipient);
  }
  const auto data_start = static_cast<uint32_t>(commands_.size());
  uint64_t chunk_size = (NeedsFinalCrlf(message.body) ? kCrlf.size() : 0) + message.prefix.size();
  size_t ranges = 0;
  if (capabilities_.chunking) {
    ForEachUnstuffedRange(message.body, [&](absl::string_view range) {
      chunk_size += range.size();
      ++ranges;
    });
  }
  chunking_ = capabilities_.chunking && ranges <= kChunkRangesMax;
  if (chunking_) {
    // RFC 3030 §2: the whole message as one chunk of its unstuffed size.
    absl::StrAppend(&commands_, "BDAT ", chunk_size, " LAST", kCrlf);
  } else {
    commands_.append(kDataCommand.data(), kDataCommand.size());
  }
  data_command_ = {data_start, static_cast<uint32_t>(commands_.size() - data_start)};
  return absl::OkStatus();
}

bool SmtpClientSession::RefuseLocally(const OutboundMessage& message) {
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
  const Span reply = StoreText(absl::StrCat(code, " ", enhanced.ToString(), " ", text));
  for (Recipient& recipient : recipients_) {
    recipient.outcome = DeliveryOutcome::kPermFailed;
    recipient.stage = ReplyStage::kLocal;
    recipient.code = code;
    recipient.enhanced = enhanced;
    recipient.reply = reply;
  }
  // Nothing was sent: the session stays ready.
  ReportTransaction(/*connection_failed=*/false);
  NotifyReady();
  return true;
}

void SmtpClientSession::SendCommand(Span span) { output_.Append(View(commands_, span)); }

SmtpClientSession::Span SmtpClientSession::StoreText(absl::string_view text) {
  text = core::Utf8Prefix(text, kResultReplyBytesMax);
  const auto offset = static_cast<uint32_t>(replies_.size());
  replies_.append(text.data(), text.size());
  return {offset, static_cast<uint32_t>(text.size())};
}

SmtpClientSession::Span SmtpClientSession::StoreReply(const ServerReply& reply) {
  const auto offset = static_cast<uint32_t>(replies_.size());
  reply.AppendSummary(kResultReplyBytesMax, &replies_);
  return {offset, static_cast<uint32_t>(replies_.size() - offset)};
}

void SmtpClientSession::Decide(Recipient* recipient, const ServerReply& reply, ReplyStage stage,
                               Span text) {
  recipient->outcome = OutcomeOf(reply.code());
  recipient->stage = stage;
  recipient->code = reply.code();
  recipient->enhanced = reply.enhanced();
  recipient->reply = text;
}

void SmtpClientSession::DecideAll(const ServerReply& reply, ReplyStage stage, bool accepted_only) {
  const Span text = StoreReply(reply);
  for (Recipient& recipient : recipients_) {
    if (!accepted_only || recipient.accepted) Decide(&recipient, reply, stage, text);
  }
}

void SmtpClientSession::OnMailReply(const ServerReply& reply) {
  if (reply.positive_completion()) {
    state_ = State::kRcpt;
    if (!pipelined_) SendCommand(recipients_[0].command);
    return;
  }
  if (!reply.transient_failure() && !reply.permanent_failure()) {
    return ProtocolError("unexpected reply to MAIL FROM", &reply);
  }
  mail_failed_ = true;
  DecideAll(reply, ReplyStage::kMail, /*accepted_only=*/false);
  if (!pipelined_) return FinishTransaction(/*needs_rset=*/false);
  state_ = State::kRcpt;  // the RCPT and DATA replies of the batch are still to come
}

void SmtpClientSession::OnRcptReply(const ServerReply& reply) {
  CHECK_LT(rcpt_replies_, recipients_.size());
  Recipient& recipient = recipients_[rcpt_replies_++];
  if (!mail_failed_) {  // after a failed MAIL the RCPT replies mean nothing
    if (reply.positive_completion()) {
      recipient.accepted = true;
      ++accepted_;
    } else if (reply.transient_failure() || reply.permanent_failure()) {
      Decide(&recipient, reply, ReplyStage::kRcpt, StoreReply(reply));
    } else {
      return ProtocolError("unexpected reply to RCPT TO", &reply);
    }
  }
  if (rcpt_replies_ < recipients_.size()) {
    if (!pipelined_) SendCommand(recipients_[rcpt_replies_].command);
    return;
  }
  if (pipelined_) {
    // DATA, or BDAT and its chunk, went out with the batch.
    state_ = chunking_ ? State::kDataEnd : State::kData;
  } else if (accepted_ > 0) {
    SendCommand(data_command_);
    if (chunking_) {
      SendChunk();  // no intermediate reply to BDAT
      state_ = State::kDataEnd;
    } else {
      state_ = State::kData;
    }
  } else {
    FinishTransaction(/*needs_rset=*/true);
  }
}

void SmtpClientSession::OnDataReply(const ServerReply& reply) {
  const bool nobody = mail_failed_ || accepted_ == 0;
  if (reply.code() == 354) {
    if (nobody) {
      // RFC 2920 §3.1: DATA accepted with no valid recipient; end it with a lone dot.
      aborting_data_ = true;
      output_.Append(kDot);
    } else {
      SendBody();
    }
    state_ = State::kDataEnd;
    return;
  }
  if (!reply.transient_failure() && !reply.permanent_failure()) {
    return ProtocolError("unexpected reply to DATA", &reply);
  }
  // With nobody accepted, DATA's 503/554 is expected and absorbed.
  if (!nobody) DecideAll(reply, ReplyStage::kData, /*accepted_only=*/true);
  FinishTransaction(/*needs_rset=*/!mail_failed_);
}

void SmtpClientSession::SendBody() {
  // The stored body goes out by reference, as stored (RFC 5321 §4.5.2 stuffing is done).
  if (!prefix_.empty()) output_.Append(prefix_);
  output_.AppendExternal(body_);
  if (!body_.empty() && !absl::EndsWith(body_, kCrlf)) output_.Append(kCrlf);
  output_.Append(kDot);
  ClientCounters::Add(counters_->messages_sent, 1);
  ClientCounters::Add(counters_->body_bytes_sent, body_.size());
}

void SmtpClientSession::SendChunk() {
  // The stored body goes out by reference, without its stuffing dots, never copied.
  if (!prefix_.empty()) output_.Append(prefix_);
  ForEachUnstuffedRange(body_, [this](absl::string_view range) { output_.AppendExternal(range); });
  if (NeedsFinalCrlf(body_)) output_.Append(kCrlf);
  ClientCounters::Add(counters_->messages_sent, 1);
  ClientCounters::Add(counters_->body_bytes_sent, body_.size());
}

void SmtpClientSession::OnDataEndReply(const ServerReply& reply) {
  if (aborting_data_) return FinishTransaction(/*needs_rset=*/true);
  if (!reply.positive_completion() && !reply.transient_failure() && !reply.permanent_failure()) {
    return ProtocolError(
        chunking_ ? "unexpected reply to BDAT LAST" : "unexpected reply to end of data", &reply);
  }
  if (chunking_ && (mail_failed_ || accepted_ == 0)) {
    // A pipelined BDAT after a refused MAIL or with no recipient accepted: its 503/554 is
    // expected and absorbed, as DATA's is.
    return FinishTransaction(/*needs_rset=*/!mail_failed_);
  }
  DecideAll(reply, ReplyStage::kDataEnd, /*accepted_only=*/true);
  // RFC 3030 §2: a 4xx/5xx to BDAT fails the transaction but, unlike the reply to the dot,
  // is not said to end it on the server: RSET makes sure (harmless if it did).
  FinishTransaction(/*needs_rset=*/chunking_ && !reply.positive_completion());
}

void SmtpClientSession::FinishTransaction(bool needs_rset) {
  if (needs_rset) {
    output_.Append(kRsetCommand);
    state_ = State::kRset;
  } else {
    state_ = State::kReady;
  }
  ReportTransaction(/*connection_failed=*/false);
  if (state_ == State::kReady) NotifyReady();
}

void SmtpClientSession::BecomeReadyAfterRset() {
  state_ = State::kReady;
  NotifyReady();
}

void SmtpClientSession::ReportTransaction(bool connection_failed) {
  CHECK(in_flight_);
  results_.clear();
  results_.reserve(recipients_.size());
  uint64_t delivered = 0, temp = 0, perm = 0;
  for (const Recipient& recipient : recipients_) {
    // Every recipient is decided by now: refused, or accepted and then decided by the
    // DATA / end-of-data reply, or failed with the connection.
    CHECK(recipient.code != 0);
    RecipientResult result;
    result.index = recipient.index;
    result.outcome = recipient.outcome;
    result.stage = recipient.stage;
    result.code = recipient.code;
    result.enhanced = recipient.enhanced;
    result.reply = View(replies_, recipient.reply);
    results_.push_back(result);
    switch (recipient.outcome) {
      case DeliveryOutcome::kDelivered:
        ++delivered;
        break;
      case DeliveryOutcome::kTempFailed:
        ++temp;
        break;
      case DeliveryOutcome::kPermFailed:
        ++perm;
        break;
    }
  }
  ClientCounters::Add(counters_->transactions, 1);
  ClientCounters::Add(counters_->recipients_delivered, delivered);
  ClientCounters::Add(counters_->recipients_temp_failed, temp);
  ClientCounters::Add(counters_->recipients_perm_failed, perm);
  // The transaction is over before the handler hears of it, so that it may start the next.
  in_flight_ = false;
  TransactionResult result;
  result.recipients = results_;
  result.connection_failed = connection_failed;
  reporting_ = true;
  handler_->OnTransactionDone(result);
  reporting_ = false;
}

void SmtpClientSession::ResetTransaction() {
  in_flight_ = false;
  pipelined_ = false;
  mail_failed_ = false;
  aborting_data_ = false;
  chunking_ = false;
  body_ = absl::string_view();
  prefix_.clear();
  commands_.clear();
  recipients_.clear();
  rcpt_replies_ = 0;
  accepted_ = 0;
  replies_.clear();
}

}  // namespace tern::net::smtp
