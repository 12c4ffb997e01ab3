// SinkSession: input framing, commands, messages and faulted or held replies
// (sink_session.h).
#include "tools/tern_bench/sink_session.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/check.h"
#include "net/smtp/command_arguments.h"

namespace tern::tools::tern_bench {
namespace {

// Replies. RFC 2034 §3: all but the greeting and the EHLO/HELO answer carry an RFC 3463
// enhanced status code.
constexpr absl::string_view kOk = "250 2.0.0 Ok\r\n";
constexpr absl::string_view kMailOk = "250 2.1.0 Ok\r\n";
constexpr absl::string_view kRcptOk = "250 2.1.5 Ok\r\n";
constexpr absl::string_view kStartData = "354 End data with <CR><LF>.<CR><LF>\r\n";
constexpr absl::string_view kQueuedVerified = "250 2.0.0 Ok: queued, checksum verified\r\n";
constexpr absl::string_view kQueuedUnverified = "250 2.0.0 Ok: queued, no checksum\r\n";
constexpr absl::string_view kQueuedMismatch = "250 2.0.0 Ok: queued, checksum MISMATCH\r\n";
constexpr absl::string_view kBye = "221 2.0.0 Bye\r\n";
constexpr absl::string_view kTempfail =
    "451 4.3.0 Error: injected temporary failure (tern-bench sink)\r\n";
constexpr absl::string_view kPermfail =
    "550 5.7.1 Error: injected permanent failure (tern-bench sink)\r\n";
constexpr absl::string_view kEmptyCommand = "500 5.5.2 Error: bad syntax\r\n";
constexpr absl::string_view kLineTooLong = "500 5.5.2 Error: line too long\r\n";
constexpr absl::string_view kNotImplemented = "502 5.5.1 Error: command not implemented\r\n";
constexpr absl::string_view kNeedHelo = "503 5.5.1 Error: send HELO/EHLO first\r\n";
constexpr absl::string_view kNestedMail = "503 5.5.1 Error: nested MAIL command\r\n";
constexpr absl::string_view kNeedMail = "503 5.5.1 Error: need MAIL command\r\n";
constexpr absl::string_view kNeedRcpt = "503 5.5.1 Error: need RCPT command\r\n";
constexpr absl::string_view kRcptAfterBdat = "503 5.5.1 Error: RCPT after BDAT\r\n";
constexpr absl::string_view kDataAfterBdat = "503 5.5.1 Error: DATA after BDAT\r\n";
constexpr absl::string_view kNoValidRcpt = "554 5.5.1 Error: no valid recipients\r\n";
constexpr absl::string_view kEhloSyntax = "501 5.5.2 Syntax: EHLO hostname\r\n";
constexpr absl::string_view kHeloSyntax = "501 5.5.2 Syntax: HELO hostname\r\n";
constexpr absl::string_view kMailSyntax = "501 5.5.2 Syntax: MAIL FROM:<address>\r\n";
constexpr absl::string_view kRcptSyntax = "501 5.5.2 Syntax: RCPT TO:<address>\r\n";
constexpr absl::string_view kBadRecipient = "501 5.1.3 Bad recipient address syntax\r\n";
constexpr absl::string_view kBadSize = "501 5.5.4 Bad SIZE parameter\r\n";
constexpr absl::string_view kBdatSyntax = "501 5.5.4 Syntax: BDAT count [LAST]\r\n";
constexpr absl::string_view kTooBig = "552 5.3.4 Message size exceeds fixed limit\r\n";
constexpr absl::string_view kTooManyRecipients = "452 4.5.3 Error: too many recipients\r\n";

// The reply code of a reply text ("250 ..." -> 250).
int ReplyCode(absl::string_view reply) {
  DCHECK(reply.size() >= 3);
  return (reply[0] - '0') * 100 + (reply[1] - '0') * 10 + (reply[2] - '0');
}

// The first four bytes of a command, lower-cased, as one integer: one compare per verb.
constexpr uint32_t VerbKey(const char (&verb)[5]) {
  return static_cast<uint32_t>(static_cast<uint8_t>(verb[0])) |
         static_cast<uint32_t>(static_cast<uint8_t>(verb[1])) << 8 |
         static_cast<uint32_t>(static_cast<uint8_t>(verb[2])) << 16 |
         static_cast<uint32_t>(static_cast<uint8_t>(verb[3])) << 24;
}
uint32_t LineVerbKey(absl::string_view line) {
  uint32_t key = 0;
  for (int i = 3; i >= 0; --i) key = key << 8 | static_cast<uint8_t>(line[i]);
  // Sets the lower-case bit of every byte: only letters can then match the lower-case keys.
  return key | 0x20202020u;
}

// What follows "FROM:" or "TO:": "<address> params", tolerating spaces before '<' and a bare
// address without brackets. False when there is no address at all.
bool SplitPath(absl::string_view text, absl::string_view* address, absl::string_view* parameters) {
  text = absl::StripLeadingAsciiWhitespace(text);
  if (text.empty()) return false;
  size_t end;
  if (text[0] == '<') {
    end = text.find('>');
    if (end == absl::string_view::npos) return false;
    *address = text.substr(1, end - 1);
    ++end;
  } else {
    end = std::min(text.find(' '), text.size());
    *address = text.substr(0, end);
  }
  *parameters = absl::StripLeadingAsciiWhitespace(text.substr(end));
  return true;
}

// A decimal count of at most 20 digits; false if it is not one or overflows.
}  // namespace

SinkProfile::SinkProfile(SinkConfig config) : config_(std::move(config)) {
  const std::string& host = config_.hostname;
  greeting = absl::StrCat("220 ", host, " ESMTP tern-bench sink\r\n");
  ehlo = absl::StrCat("250-", host, "\r\n250-PIPELINING\r\n",
                      config_.max_message_size == 0
                          ? std::string("250-SIZE\r\n")  // RFC 1870 §4: no fixed limit
                          : absl::StrCat("250-SIZE ", config_.max_message_size, "\r\n"),
                      "250-8BITMIME\r\n250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n"
                      "250 CHUNKING\r\n");
  helo = absl::StrCat("250 ", host, "\r\n");
  connect_tempfail = absl::StrCat(
      "421 4.3.2 ", host, " Error: injected temporary failure (tern-bench sink), closing\r\n");
  connect_permfail = absl::StrCat(
      "554 5.3.2 ", host, " Error: injected permanent failure (tern-bench sink), closing\r\n");
  timeout = absl::StrCat("421 4.4.2 ", host, " Error: timeout exceeded\r\n");
  shutdown = absl::StrCat("421 4.3.2 ", host, " Service shutting down\r\n");
}

SinkSession::SinkSession(const SinkProfile& profile, uint64_t fault_seed, SinkCounters* counters,
                         SinkMessageObserver* observer)
    : profile_(profile),
      config_(profile.config()),
      faults_(profile.config().faults, fault_seed),
      counters_(counters),
      observer_(observer) {
  CHECK(counters != nullptr);
  CHECK(observer != nullptr);
  // Envelope offsets are 32-bit: it holds at most (max_recipients + 1) command lines.
  CHECK_LT((config_.max_recipients + 1) * kCommandLineBytesMax, size_t{UINT32_MAX});
}

void SinkSession::Start(absl::Time now) {
  CHECK(state_ == State::kNew);
  now_ = now;
  state_ = State::kGreeted;
  Answer(FaultStage::kConnect, profile_.greeting);
}

// ---------------------------------------------------------------------------------------
// Output.

void SinkSession::Reply(absl::string_view reply) {
  if (reply.empty()) return;
  DCHECK(absl::EndsWith(reply, "\r\n"));
  counters_->CountReply(ReplyCode(reply));
  output_.Append(reply);
  if (output_.pending_bytes() > kOutputBytesMax) output_overflowed_ = true;
}

void SinkSession::Emit(absl::string_view reply, absl::Duration delay) {
  if (delay <= absl::ZeroDuration()) return Reply(reply);
  if (!reply.empty()) counters_->CountReply(ReplyCode(reply));
  held_.push_back(HeldReply{output_.AppendPending(), now_ + delay, std::string(reply)});
  if (held_.size() > kHeldRepliesMax) output_overflowed_ = true;
}

FaultAction SinkSession::Answer(FaultStage stage, absl::string_view reply) {
  const FaultDecision decision = faults_.Decide(stage);
  if (decision.delay > absl::ZeroDuration()) counters_->CountDelay(stage);
  counters_->CountFault(decision.action, stage);
  const bool at_connect = stage == FaultStage::kConnect;
  switch (decision.action) {
    case FaultAction::kNone:
      Emit(reply, decision.delay);
      break;
    case FaultAction::kTempfail:
      Emit(at_connect ? absl::string_view(profile_.connect_tempfail) : kTempfail, decision.delay);
      break;
    case FaultAction::kPermfail:
      Emit(at_connect ? absl::string_view(profile_.connect_permfail) : kPermfail, decision.delay);
      break;
    case FaultAction::kDisconnect:
      Emit("", decision.delay);  // holds back the close as long as the reply would have been
      break;
  }
  if (decision.action == FaultAction::kDisconnect ||
      (at_connect && decision.action != FaultAction::kNone)) {
    Close();
  }
  return decision.action;
}

void SinkSession::ReleaseDue(absl::Time now) {
  auto due = [now](const HeldReply& held) { return held.due <= now; };
  for (const HeldReply& held : held_) {
    if (due(held)) output_.Fill(held.slot, held.text);
  }
  held_.erase(std::remove_if(held_.begin(), held_.end(), due), held_.end());
}

absl::Time SinkSession::next_release() const {
  absl::Time next = absl::InfiniteFuture();
  for (const HeldReply& held : held_) next = std::min(next, held.due);
  return next;
}

void SinkSession::Close() {
  state_ = State::kClosing;
  mode_ = InputMode::kIgnore;
  lines_.Reset();
}

void SinkSession::OnTimeout() {
  if (state_ == State::kClosing) return;
  Reply(profile_.timeout);
  Close();
}

void SinkSession::OnShutdown() {
  ReleaseDue(absl::InfiniteFuture());
  if (state_ == State::kClosing) return;
  Reply(profile_.shutdown);
  Close();
}

// ---------------------------------------------------------------------------------------
// Input framing.

void SinkSession::Consume(absl::string_view bytes, absl::Time now) {
  CHECK(state_ != State::kNew);  // nothing is read before the greeting
  now_ = now;
  while (!bytes.empty() && mode_ != InputMode::kIgnore) {
    if (output_overflowed_) {
      Close();  // the owner closes at once
      break;
    }
    size_t used = 0;
    switch (mode_) {
      case InputMode::kCommand:
        used = ConsumeCommandBytes(bytes);
        break;
      case InputMode::kDataBody:
        used = ConsumeDataBytes(bytes);
        break;
      case InputMode::kChunkBody:
        used = ConsumeChunkBytes(bytes);
        break;
      case InputMode::kIgnore:
        CHECK(false);
    }
    CHECK_LE(used, bytes.size());
    bytes.remove_prefix(used);
  }
}

size_t SinkSession::ConsumeCommandBytes(absl::string_view in) {
  size_t used = 0;
  switch (lines_.Consume(in, &used)) {
    case net::smtp::CommandLineResult::kNeedMore:
      break;
    case net::smtp::CommandLineResult::kTooLong:
      Reply(kLineTooLong);
      break;
    case net::smtp::CommandLineResult::kLine: {
      absl::string_view line = lines_.line();
      // CRLF, or a bare LF from a lenient client: the sink takes both.
      absl::ConsumeSuffix(&line, "\r");
      DispatchCommand(line);
      break;
    }
  }
  return used;
}

size_t SinkSession::ConsumeDataBytes(absl::string_view in) {
  const size_t used = data_reader_.ConsumeUnstuffed(in, [this](absl::string_view run) {
    data_content_bytes_ += run.size();
    verifier_.Update(run);
  });
  if (data_reader_.done()) {
    mode_ = InputMode::kCommand;
    EndMessage(/*bdat=*/false);
  }
  return used;
}

size_t SinkSession::ConsumeChunkBytes(absl::string_view in) {
  const absl::string_view bytes = chunk_.Take(in);
  if (!chunk_discard_) {
    verifier_.Update(bytes);
    chunk_bytes_ += bytes.size();
  }
  if (chunk_.complete()) FinishChunk();
  return bytes.size();
}

// ---------------------------------------------------------------------------------------
// Commands.

void SinkSession::DispatchCommand(absl::string_view line) {
  line = absl::StripTrailingAsciiWhitespace(line);
  if (line.empty()) return Reply(kEmptyCommand);
  if (line.size() < 4 || (line.size() > 4 && line[4] != ' ')) return Reply(kNotImplemented);
  const absl::string_view arg = absl::StripLeadingAsciiWhitespace(line.substr(4));
  switch (LineVerbKey(line)) {
    case VerbKey("mail"):
      return OnMail(arg);
    case VerbKey("rcpt"):
      return OnRcpt(arg);
    case VerbKey("data"):
      return OnData(arg);
    case VerbKey("bdat"):
      return OnBdat(arg);
    case VerbKey("ehlo"):
      return OnEhlo(arg, /*extended=*/true);
    case VerbKey("helo"):
      return OnEhlo(arg, /*extended=*/false);
    case VerbKey("rset"):
      ResetTransaction();
      return Reply(kOk);
    case VerbKey("noop"):
      return Reply(kOk);
    case VerbKey("quit"):
      return OnQuit();
    default:
      return Reply(kNotImplemented);
  }
}

void SinkSession::OnEhlo(absl::string_view arg, bool extended) {
  if (arg.empty()) return Reply(extended ? kEhloSyntax : kHeloSyntax);
  const FaultAction action =
      Answer(FaultStage::kEhlo, extended ? absl::string_view(profile_.ehlo) : profile_.helo);
  if (action != FaultAction::kNone) return;
  // RFC 5321 §4.1.4: EHLO in a session ends any transaction, like RSET.
  ResetTransaction();
  state_ = State::kReady;
}

void SinkSession::OnMail(absl::string_view arg) {
  if (state_ == State::kGreeted) return Reply(kNeedHelo);
  if (state_ != State::kReady) return Reply(kNestedMail);
  absl::string_view address, parameters;
  if (!absl::StartsWithIgnoreCase(arg, "FROM:") ||
      !SplitPath(arg.substr(5), &address, &parameters)) {
    return Reply(kMailSyntax);
  }
  for (absl::string_view parameter : absl::StrSplit(parameters, ' ', absl::SkipEmpty())) {
    if (!absl::StartsWithIgnoreCase(parameter, "SIZE=")) continue;  // others: taken as sent
    uint64_t size = 0;
    if (!net::smtp::ParseDecimalCount(parameter.substr(5), &size)) {
      if (parameter.size() <= 5 ||
          parameter.substr(5).find_first_not_of("0123456789") != absl::string_view::npos) {
        return Reply(kBadSize);
      }
      size = UINT64_MAX;  // too many digits: beyond any limit
    }
    if (config_.max_message_size != 0 && size > config_.max_message_size) return Reply(kTooBig);
  }
  if (Answer(FaultStage::kMail, kMailOk) != FaultAction::kNone) return;
  ResetTransaction();
  if (config_.keep_envelope) sender_ = KeepString(address);
  state_ = State::kMail;
}

void SinkSession::OnRcpt(absl::string_view arg) {
  if (state_ == State::kGreeted || state_ == State::kReady) return Reply(kNeedMail);
  if (state_ == State::kBdat) return Reply(kRcptAfterBdat);
  CHECK(state_ == State::kMail || state_ == State::kRcpt);
  absl::string_view address, parameters;
  if (!absl::StartsWithIgnoreCase(arg, "TO:") || !SplitPath(arg.substr(3), &address, &parameters)) {
    return Reply(kRcptSyntax);
  }
  if (address.empty()) return Reply(kBadRecipient);
  if (recipient_count_ >= config_.max_recipients) return Reply(kTooManyRecipients);
  if (Answer(FaultStage::kRcpt, kRcptOk) != FaultAction::kNone) return;
  if (config_.keep_envelope) recipients_.push_back(KeepString(address));
  ++recipient_count_;
  state_ = State::kRcpt;
}

void SinkSession::OnData(absl::string_view arg) {
  if (state_ == State::kBdat) return Reply(kDataAfterBdat);
  if (state_ == State::kMail) return Reply(kNoValidRcpt);
  if (state_ != State::kRcpt) return Reply(kNeedRcpt);
  const FaultAction action = Answer(FaultStage::kData, kStartData);
  if (action == FaultAction::kDisconnect) return;
  if (action != FaultAction::kNone) return ResetTransaction();
  BeginMessage();
  state_ = State::kData;
  mode_ = InputMode::kDataBody;
}

void SinkSession::OnBdat(absl::string_view arg) {
  // RFC 3030 §3: "BDAT" SP chunk-size [ SP end-marker ].
  if (!chunk_.Begin(arg)) {
    // Without a valid count the chunk cannot be skipped: the rest of the input would be read
    // as commands. Close rather than lose sync.
    Reply(kBdatSyntax);
    return Close();
  }
  chunk_discard_ = true;  // unless the transaction takes it, below
  mode_ = InputMode::kChunkBody;
  if (state_ == State::kGreeted || state_ == State::kReady) {
    Reply(kNeedMail);
  } else if (state_ == State::kMail) {
    Reply(kNoValidRcpt);
  } else {
    CHECK(state_ == State::kRcpt || state_ == State::kBdat);
    if (state_ == State::kRcpt) BeginMessage();
    state_ = State::kBdat;
    chunk_discard_ = false;
  }
  if (chunk_.complete()) FinishChunk();
}

void SinkSession::OnQuit() {
  Answer(FaultStage::kQuit, kBye);
  Close();  // whatever the reply, the client is leaving
}

// ---------------------------------------------------------------------------------------
// Messages.

SinkSession::Span SinkSession::KeepString(absl::string_view text) {
  CHECK_LE(text.size(), kCommandLineBytesMax);  // a part of one command line
  Span span{static_cast<uint32_t>(envelope_.size()), static_cast<uint32_t>(text.size())};
  envelope_.append(text.data(), text.size());
  CHECK_LE(envelope_.size(), (config_.max_recipients + 1) * kCommandLineBytesMax);
  return span;
}

void SinkSession::BeginMessage() {
  data_reader_.Reset();
  data_content_bytes_ = 0;
  verifier_.Reset();
  chunk_bytes_ = 0;
}

void SinkSession::FinishChunk() {
  mode_ = InputMode::kCommand;
  if (chunk_discard_) {
    chunk_discard_ = false;  // answered when the BDAT command was read
    return;
  }
  CHECK(state_ == State::kBdat);
  if (chunk_.last()) return EndMessage(/*bdat=*/true);
  const std::string reply = absl::StrCat("250 2.0.0 ", chunk_.size(), " bytes received\r\n");
  const FaultAction action = Answer(FaultStage::kData, reply);
  // RFC 3030 §3: after a failed chunk the client must not go on with this transaction.
  if (action == FaultAction::kTempfail || action == FaultAction::kPermfail) ResetTransaction();
}

void SinkSession::EndMessage(bool bdat) {
  CHECK(state_ == State::kData || state_ == State::kBdat);
  MessageOutcome& outcome = outcome_;
  outcome.verify = verifier_.Finish();
  outcome.content_bytes = bdat ? chunk_bytes_ : data_content_bytes_;
  outcome.recipient_count = recipient_count_;
  outcome.bdat = bdat;
  outcome.sender = KeptString(sender_);
  outcome.recipients.clear();
  for (Span r : recipients_) outcome.recipients.push_back(KeptString(r));

  SinkCounters::Bump(counters_->messages_received);
  const VerifyResult& v = outcome.verify;
  absl::string_view accepted = kQueuedVerified;
  if (!v.has_checksum || !v.headers_complete) {
    SinkCounters::Bump(counters_->unverified);
    accepted = kQueuedUnverified;
  } else if (v.verified()) {
    SinkCounters::Bump(counters_->verified);
  } else {
    SinkCounters::Bump(counters_->checksum_mismatches);
    accepted = kQueuedMismatch;
  }

  if (config_.max_message_size != 0 && outcome.content_bytes > config_.max_message_size) {
    Reply(kTooBig);
    outcome.reply = ReplyCode(kTooBig);
  } else {
    switch (Answer(FaultStage::kDot, accepted)) {
      case FaultAction::kNone:
        outcome.reply = 250;
        SinkCounters::Bump(counters_->messages_accepted);
        SinkCounters::Bump(counters_->recipients_accepted, recipient_count_);
        SinkCounters::Bump(counters_->bytes_accepted, outcome.content_bytes);
        break;
      case FaultAction::kTempfail:
        outcome.reply = ReplyCode(kTempfail);
        break;
      case FaultAction::kPermfail:
        outcome.reply = ReplyCode(kPermfail);
        break;
      case FaultAction::kDisconnect:
        outcome.reply = 0;
        break;
    }
  }
  observer_->OnMessage(outcome);
  ResetTransaction();
}

void SinkSession::ResetTransaction() {
  envelope_.clear();
  sender_ = Span{};
  recipients_.clear();
  recipient_count_ = 0;
  chunk_bytes_ = 0;
  switch (state_) {
    case State::kMail:
    case State::kRcpt:
    case State::kData:
    case State::kBdat:
      state_ = State::kReady;
      break;
    case State::kNew:
    case State::kGreeted:
    case State::kReady:
    case State::kClosing:
      break;
  }
}

}  // namespace tern::tools::tern_bench
