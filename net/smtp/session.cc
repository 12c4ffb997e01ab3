// Implementation of net/smtp/session.h: input framing (command lines, DATA and BDAT
// bodies), the command handlers and the message life cycle through the MessageSink.
#include "net/smtp/session.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "core/check.h"
#include "core/log.h"
#include "net/smtp/address.h"
#include "net/smtp/command_arguments.h"
#include "net/smtp/dsn_parameters.h"
#include "net/smtp/record_reserve.h"
#include "net/smtp/sasl.h"

namespace tern::net::smtp {
namespace {

// Replies. RFC 2034 §3: every reply but the greeting and the EHLO/HELO answer carries an
// enhanced status code (RFC 3463).
constexpr absl::string_view kOk = "250 2.0.0 Ok\r\n";
constexpr absl::string_view kMailOk = "250 2.1.0 Ok\r\n";
constexpr absl::string_view kRcptOk = "250 2.1.5 Ok\r\n";
constexpr absl::string_view kStartData = "354 End data with <CR><LF>.<CR><LF>\r\n";
constexpr absl::string_view kBye = "221 2.0.0 Bye\r\n";
constexpr absl::string_view kVrfy =
    "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n";
constexpr absl::string_view kExpn = "502 5.5.1 EXPN not supported\r\n";
// RFC 5321 §4.2.4: a command recognized but not implemented is answered 502 (Sendmail's
// verbose mode has no meaning for a relay).
constexpr absl::string_view kVerb = "502 5.5.1 VERB command not implemented\r\n";
constexpr absl::string_view kHelp = "214 2.0.0 Tern SMTP: see RFC 5321\r\n";
constexpr absl::string_view kUnknownCommand = "500 5.5.1 Error: command not recognized\r\n";
constexpr absl::string_view kEmptyCommand = "500 5.5.2 Error: bad syntax\r\n";
constexpr absl::string_view kLineTooLong = "500 5.5.2 Line too long\r\n";
constexpr absl::string_view kInvalidChar = "500 5.5.2 Invalid character in command\r\n";
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
constexpr absl::string_view kDataSyntax = "501 5.5.2 Syntax: DATA\r\n";
constexpr absl::string_view kRsetSyntax = "501 5.5.2 Syntax: RSET\r\n";
constexpr absl::string_view kQuitSyntax = "501 5.5.2 Syntax: QUIT\r\n";
constexpr absl::string_view kBdatSyntax = "501 5.5.4 Syntax: BDAT count [LAST]\r\n";
constexpr absl::string_view kBadSender = "501 5.1.3 Bad sender address syntax\r\n";
constexpr absl::string_view kBadRecipient = "501 5.1.3 Bad recipient address syntax\r\n";
constexpr absl::string_view kNeedSmtputf8 =
    "553 5.6.7 Must declare SMTPUTF8 to send UTF8 address\r\n";
constexpr absl::string_view kBadParameterValue = "501 5.5.4 Bad parameter value\r\n";
constexpr absl::string_view kUnsupportedParameter = "555 5.5.4 Unsupported parameter\r\n";
// RFC 3461: a syntax error in a DSN parameter is answered 501.
constexpr absl::string_view kBadRet = "501 5.5.4 Bad RET parameter: use RET=FULL or RET=HDRS\r\n";
constexpr absl::string_view kBadEnvid = "501 5.5.4 Bad ENVID parameter: not printable xtext\r\n";
constexpr absl::string_view kEnvidTooLong =
    "501 5.5.4 ENVID parameter too long: at most 100 characters\r\n";
constexpr absl::string_view kBadNotify =
    "501 5.5.4 Bad NOTIFY parameter: use NEVER, or SUCCESS,FAILURE,DELAY\r\n";
constexpr absl::string_view kNotifyNeverCombined =
    "501 5.5.4 Bad NOTIFY parameter: NEVER must stand alone\r\n";
constexpr absl::string_view kBadOrcpt = "501 5.5.4 Bad ORCPT parameter: use addr-type;xtext\r\n";
constexpr absl::string_view kOrcptTooLong =
    "501 5.5.4 ORCPT parameter too long: at most 500 characters\r\n";
constexpr absl::string_view kDuplicateRet = "501 5.5.4 Duplicate RET parameter\r\n";
constexpr absl::string_view kDuplicateEnvid = "501 5.5.4 Duplicate ENVID parameter\r\n";
constexpr absl::string_view kDuplicateNotify = "501 5.5.4 Duplicate NOTIFY parameter\r\n";
constexpr absl::string_view kDuplicateOrcpt = "501 5.5.4 Duplicate ORCPT parameter\r\n";
static_assert(kEnvidBytesMax == 100, "kEnvidTooLong names the limit");
static_assert(kOrcptBytesMax == 500, "kOrcptTooLong names the limit");
constexpr absl::string_view kTooBig = "552 5.3.4 Message size exceeds fixed limit\r\n";
constexpr absl::string_view kTooManyRecipients = "452 4.5.3 Too many recipients\r\n";
constexpr absl::string_view kRelayDenied = "554 5.7.1 Relay access denied\r\n";
constexpr absl::string_view kNoStorage = "452 4.3.1 Insufficient system storage\r\n";
constexpr absl::string_view kTempFailure = "451 4.3.0 Error: queue file write error\r\n";
constexpr absl::string_view kNotAccepting =
    "451 4.3.0 Error: temporarily unable to accept mail\r\n";
constexpr absl::string_view kTooManyInFlight = "451 4.3.0 Error: too many messages in flight\r\n";
// What a failed store answers: a full disk (ResourceExhausted) is 452 4.3.1 wherever it is
// found, everything else 451 4.3.0.
absl::string_view StorageFailureReply(const absl::Status& status) {
  return absl::IsResourceExhausted(status) ? kNoStorage : kTempFailure;
}
constexpr absl::string_view kBareCrLf = "554 5.6.0 Message contains bare CR or LF\r\n";
constexpr absl::string_view kNul = "554 5.6.0 Message contains NUL\r\n";
constexpr absl::string_view kReadyForTls = "220 2.0.0 Ready to start TLS\r\n";
constexpr absl::string_view kAuthOk = "235 2.7.0 Authentication successful\r\n";
constexpr absl::string_view kAuthFailed = "535 5.7.8 Error: authentication failed\r\n";
constexpr absl::string_view kAuthNeedsTls =
    "538 5.7.11 Encryption required for requested authentication mechanism\r\n";
constexpr absl::string_view kAuthUnavailable = "502 5.5.1 Error: authentication not enabled\r\n";
constexpr absl::string_view kAuthAgain = "503 5.5.1 Error: already authenticated\r\n";
constexpr absl::string_view kAuthMechanism =
    "504 5.5.4 Unrecognized authentication type: use PLAIN or LOGIN\r\n";
constexpr absl::string_view kAuthSyntax = "501 5.5.4 Syntax: AUTH mechanism [response]\r\n";
constexpr absl::string_view kAuthAborted = "501 5.7.0 Authentication aborted\r\n";
constexpr absl::string_view kAuthBadResponse = "501 5.5.2 Error: cannot decode response\r\n";
constexpr absl::string_view kAuthTemporary =
    "454 4.7.0 Temporary authentication failure, try again later\r\n";
constexpr absl::string_view kAuthRequired = "530 5.7.0 Authentication required\r\n";
constexpr absl::string_view kAuthHeldTooMuch =
    "421 4.7.0 Error: too much input during authentication\r\n";
// RFC 4954 §4: the LOGIN prompts, "Username:" and "Password:" in base64.
constexpr absl::string_view kLoginUserPrompt = "334 VXNlcm5hbWU6\r\n";
constexpr absl::string_view kLoginPasswordPrompt = "334 UGFzc3dvcmQ6\r\n";
constexpr absl::string_view kEmptyChallenge = "334 \r\n";

// RFC 3848 (and RFC 6531 §3.7.3): the protocol named in Received:.
const char* ReceivedProtocol(bool extended, bool utf8, bool tls, bool authenticated) {
  if (!extended) return "SMTP";
  if (utf8) {
    if (authenticated) return tls ? "UTF8SMTPSA" : "UTF8SMTPA";
    return tls ? "UTF8SMTPS" : "UTF8SMTP";
  }
  if (authenticated) return tls ? "ESMTPSA" : "ESMTPA";
  return tls ? "ESMTPS" : "ESMTP";
}
constexpr absl::string_view kTlsActive = "554 5.5.1 Error: TLS already active\r\n";
constexpr absl::string_view kTlsUnavailable = "502 5.5.1 Error: STARTTLS not available\r\n";
constexpr absl::string_view kStartTlsSyntax = "501 5.5.4 Syntax: STARTTLS\r\n";
constexpr absl::string_view kInTransaction = "503 5.5.1 Error: MAIL transaction in progress\r\n";

bool HasHighBit(absl::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  }
  return false;
}

// An EHLO/HELO argument: one token of printable ASCII, no longer than a domain.
bool IsValidHeloArgument(absl::string_view arg) {
  if (arg.empty() || arg.size() > kDomainBytesMax) return false;
  for (char c : arg) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

// A decimal count of at most 20 digits; false if it overflows uint64_t.
// One ESMTP parameter, "keyword[=value]" (RFC 5321 §4.1.2).
struct Parameter {
  absl::string_view key;
  absl::string_view value;  // empty without '='
  bool has_value;
};

Parameter SplitParameter(absl::string_view param) {
  const size_t eq = param.find('=');
  if (eq == absl::string_view::npos) return {param, absl::string_view(), false};
  return {param.substr(0, eq), param.substr(eq + 1), true};
}

// What MAIL's parameters ask for. `envid` is a view into the command line.
struct MailArguments {
  uint64_t size = 0;
  BodyType body_type = BodyType::kSevenBit;
  bool smtputf8 = false;
  uint8_t dsn_ret = kDsnRetNone;
  absl::string_view envid;
};

// Parses MAIL's parameters into `args`. Returns the error reply, or empty when all are good.
// The DSN ones only after EHLO (`extended`): DSN is not offered to a HELO client.
absl::string_view ParseMailArguments(absl::string_view parameters, bool extended,
                                     MailArguments* args) {
  for (absl::string_view param : absl::StrSplit(parameters, ' ', absl::SkipEmpty())) {
    const auto [key, value, has_value] = SplitParameter(param);
    if (absl::EqualsIgnoreCase(key, "SIZE") && has_value) {
      if (value.empty() || value.find_first_not_of("0123456789") != absl::string_view::npos) {
        return kBadParameterValue;
      }
      if (!ParseDecimalCount(value, &args->size)) args->size = UINT64_MAX;  // beyond any limit
    } else if (absl::EqualsIgnoreCase(key, "BODY") && has_value) {
      if (absl::EqualsIgnoreCase(value, "7BIT")) {
        args->body_type = BodyType::kSevenBit;
      } else if (absl::EqualsIgnoreCase(value, "8BITMIME")) {
        args->body_type = BodyType::kEightBitMime;
      } else {
        return kBadParameterValue;
      }
    } else if (absl::EqualsIgnoreCase(key, "SMTPUTF8") && !has_value) {
      args->smtputf8 = true;
    } else if (extended && absl::EqualsIgnoreCase(key, "RET")) {
      if (args->dsn_ret != kDsnRetNone) return kDuplicateRet;
      args->dsn_ret = ParseDsnRet(value);
      if (args->dsn_ret == kDsnRetNone) return kBadRet;
    } else if (extended && absl::EqualsIgnoreCase(key, "ENVID")) {
      if (!args->envid.empty()) return kDuplicateEnvid;
      const DsnValueError error = CheckDsnEnvid(value);
      if (error == DsnValueError::kTooLong) return kEnvidTooLong;
      if (error != DsnValueError::kNone) return kBadEnvid;
      args->envid = value;  // not empty: CheckDsnEnvid refuses that
    } else {
      return kUnsupportedParameter;
    }
  }
  return {};
}

// What RCPT's parameters ask for. `orcpt` is a view into the command line.
struct RcptArguments {
  uint8_t notify = 0;
  absl::string_view orcpt;
};

// Parses RCPT's parameters into `args`, like ParseMailArguments.
absl::string_view ParseRcptArguments(absl::string_view parameters, bool extended,
                                     RcptArguments* args) {
  for (absl::string_view param : absl::StrSplit(parameters, ' ', absl::SkipEmpty())) {
    const auto [key, value, has_value] = SplitParameter(param);
    if (extended && absl::EqualsIgnoreCase(key, "NOTIFY")) {
      if (args->notify != 0) return kDuplicateNotify;
      const DsnValueError error = ParseDsnNotify(value, &args->notify);
      if (error == DsnValueError::kNeverCombined) return kNotifyNeverCombined;
      if (error != DsnValueError::kNone) return kBadNotify;
      DCHECK(args->notify != 0);
    } else if (extended && absl::EqualsIgnoreCase(key, "ORCPT")) {
      if (!args->orcpt.empty()) return kDuplicateOrcpt;
      const DsnValueError error = CheckDsnOrcpt(value);
      if (error == DsnValueError::kTooLong) return kOrcptTooLong;
      if (error != DsnValueError::kNone) return kBadOrcpt;
      args->orcpt = value;  // not empty: CheckDsnOrcpt refuses that
    } else {
      return kUnsupportedParameter;
    }
  }
  return {};
}

}  // namespace

class SmtpSession::PendingCommit : public CommitWaiter {
 public:
  explicit PendingCommit(SmtpSession* session) : session_(session) {}
  void OnCommitted(absl::Status status) override { session_->OnCommitted(this, std::move(status)); }

  SmtpSession* const session_;
  ReplyQueue::SlotId slot = 0;
  uint64_t queue_id = 0;
  uint64_t body_bytes = 0;
  absl::Time data_end;  // for the accept latency
};

SmtpSession::SmtpSession(const SessionConfig& config, const ClientInfo& client, MessageSink* sink,
                         SmtpCounters* counters)
    : config_(config), client_(client), sink_(sink), counters_(counters), tls_active_(client.tls) {
  CHECK(sink != nullptr);
  CHECK(counters != nullptr);
  // Arena offsets are 32-bit: the arena holds at most (max_recipients + 1) command lines.
  CHECK_LT((config.max_recipients + 1) * kCommandLineBytesMax, size_t{UINT32_MAX});
}

SmtpSession::~SmtpSession() {
  // Waiters point at this session: destroying it now would be a use-after-free later.
  CHECK_EQ(pending_commits_, 0u);
  CHECK(!auth_pending_);
}

void SmtpSession::Start() {
  CHECK(state_ == State::kNew);
  state_ = State::kGreeted;
  output_.Append("220 ");
  output_.Append(config_.hostname);
  output_.Append(" ESMTP Tern\r\n");
}

absl::Duration SmtpSession::current_timeout() const {
  if (mode_ == InputMode::kDataBody || mode_ == InputMode::kChunkBody) {
    return config_.data_timeout;
  }
  return config_.idle_timeout;
}

void SmtpSession::Reply(absl::string_view line) {
  DCHECK(line.size() >= 5 && absl::EndsWith(line, "\r\n"));
  const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (code >= 400) counters_->CountReply(code);
  output_.Append(line);
  if (output_.pending_bytes() > kOutputBytesMax) output_overflowed_ = true;  // see Consume
}

void SmtpSession::Close() {
  if (state_ == State::kClosing) return;
  ResetTransaction();
  state_ = State::kClosing;
  mode_ = InputMode::kIgnore;
  starttls_pending_ = false;
  auth_step_ = AuthStep::kNone;
  held_input_.clear();
  lines_.Reset();
}

void SmtpSession::OnTimeout() {
  if (state_ == State::kClosing) return;
  TERN_LOG(kInfo, "smtp client=%s: timeout", client_.address);
  Reply(absl::StrCat("421 4.4.2 ", config_.hostname, " Error: timeout exceeded\r\n"));
  Close();
}

void SmtpSession::OnShutdown() {
  if (state_ == State::kClosing) return;
  Reply(absl::StrCat("421 4.3.2 ", config_.hostname, " Service shutting down\r\n"));
  Close();
}

// ---------------------------------------------------------------------------------------
// Input framing.

void SmtpSession::HoldInput(absl::string_view bytes) {
  // The check's answer comes first; what follows waits for it.
  if (held_input_.size() + bytes.size() > kAuthHeldBytesMax) {
    TERN_LOG(kWarning, "smtp client=%s: over %d bytes sent during AUTH, closing", client_.address,
             kAuthHeldBytesMax);
    Reply(kAuthHeldTooMuch);
    Close();
    return;
  }
  held_input_.append(bytes.data(), bytes.size());
}

void SmtpSession::Consume(absl::string_view bytes) {
  CHECK(state_ != State::kNew);  // nothing is read before the greeting
  if (auth_pending_ && mode_ != InputMode::kIgnore) return HoldInput(bytes);
  while (!bytes.empty() && mode_ != InputMode::kIgnore) {
    if (output_overflowed_) {
      TERN_LOG(kWarning, "smtp client=%s: over %d reply bytes unread, closing", client_.address,
               kOutputBytesMax);
      Close();
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
    if (auth_pending_ && !bytes.empty()) return HoldInput(bytes);
  }
  if (starttls_pending_ && !bytes.empty()) {
    // RFC 3207 §5, CVE-2011-0411: the client cannot have seen the 220 yet.
    TERN_LOG(kWarning,
             "smtp client=%s: %d plaintext bytes pipelined after STARTTLS discarded (command "
             "injection attempt)",
             client_.address, bytes.size());
  }
}

size_t SmtpSession::ConsumeCommandBytes(absl::string_view in) {
  size_t used = 0;
  switch (lines_.Consume(in, &used)) {
    case CommandLineResult::kNeedMore:
      break;
    case CommandLineResult::kTooLong:
      TERN_LOG(kInfo, "smtp client=%s: command line too long", client_.address);
      Reply(kLineTooLong);
      break;
    case CommandLineResult::kLine: {
      absl::string_view line = lines_.line();
      const bool crlf = !line.empty() && line.back() == '\r';
      if (crlf) line.remove_suffix(1);
      ProcessLine(line, crlf);
      break;
    }
  }
  return used;
}

void SmtpSession::ProcessLine(absl::string_view line, bool crlf) {
  ++requests_completed_;
  if (auth_step_ != AuthStep::kNone) {
    if (!crlf || line.find_first_of(absl::string_view("\r\0", 2)) != absl::string_view::npos) {
      auth_step_ = AuthStep::kNone;
      return Reply(kAuthBadResponse);
    }
    return OnAuthResponse(line);  // never logged: it carries a password
  }
  SmtpCounters::Add(counters_->commands, 1);
  if (!crlf || line.find_first_of(absl::string_view("\r\0", 2)) != absl::string_view::npos) {
    TERN_LOG(kInfo, "smtp client=%s: bare CR, bare LF or NUL in command", client_.address);
    Reply(kInvalidChar);
    return;
  }
  DispatchCommand(line);
}

size_t SmtpSession::ConsumeDataBytes(absl::string_view in) {
  const size_t used = data_reader_.Consume(in, storing_ ? &record_ : nullptr);
  if (storing_ &&
      (data_reader_.flaws().any() ||
       (config_.max_message_size != 0 &&
        data_reader_.bytes_seen() > config_.max_message_size + DataBodyReader::kTerminatorBytes))) {
    // Refused already; read on to the end without keeping the bytes.
    record_ = core::ByteBuffer();
    storing_ = false;
  }
  if (storing_ && header_section_pending_) ScanHeaderSection(/*at_end=*/false);
  if (data_reader_.done()) FinishData();
  return used;
}

size_t SmtpSession::ConsumeChunkBytes(absl::string_view in) {
  const absl::string_view bytes = chunk_.Take(in);
  if (!chunk_discard_) {
    chunk_reader_.Consume(bytes, storing_ ? &record_ : nullptr);
    if (storing_ && (chunk_reader_.flaws().any() ||
                     (config_.max_message_size != 0 &&
                      chunk_reader_.bytes_received() > config_.max_message_size))) {
      record_ = core::ByteBuffer();
      storing_ = false;
    }
    if (storing_ && header_section_pending_) ScanHeaderSection(/*at_end=*/false);
  }
  if (chunk_.complete()) FinishChunk();
  return bytes.size();
}

// ---------------------------------------------------------------------------------------
// Commands.

void SmtpSession::DispatchCommand(absl::string_view line) {
  if (line.empty()) {
    Reply(kEmptyCommand);
    return;
  }
  const size_t space = line.find(' ');
  const absl::string_view verb = line.substr(0, space);
  const absl::string_view arg =
      space == absl::string_view::npos ? absl::string_view() : line.substr(space + 1);
  auto is = [verb](absl::string_view name) { return absl::EqualsIgnoreCase(verb, name); };
  if (verb.size() == 4) {
    if (is("MAIL")) return OnMail(arg);
    if (is("RCPT")) return OnRcpt(arg);
    if (is("DATA")) return OnData(arg);
    if (is("BDAT")) return OnBdat(arg);
    if (is("EHLO")) return OnEhlo(arg, /*extended=*/true);
    if (is("HELO")) return OnEhlo(arg, /*extended=*/false);
    if (is("RSET")) return OnRset(arg);
    if (is("NOOP")) return Reply(kOk);
    if (is("QUIT")) return OnQuit(arg);
    if (is("VRFY")) return Reply(kVrfy);
    if (is("EXPN")) return Reply(kExpn);
    if (is("HELP")) return Reply(kHelp);
    if (is("VERB")) return Reply(kVerb);
  }
  if (is("STARTTLS")) return OnStartTls(arg);
  if (verb.size() == 4 && is("AUTH")) return OnAuth(arg);
  Reply(kUnknownCommand);
}

void SmtpSession::OnEhlo(absl::string_view arg, bool extended) {
  arg = absl::StripAsciiWhitespace(arg);
  if (!IsValidHeloArgument(arg)) return Reply(extended ? kEhloSyntax : kHeloSyntax);
  // RFC 5321 §4.1.4: EHLO in a session ends any transaction, like RSET.
  ResetTransaction();
  helo_.assign(arg.data(), arg.size());
  extended_ = extended;
  state_ = State::kReady;
  if (!extended) return Reply(absl::StrCat("250 ", config_.hostname, "\r\n"));
  output_.Append("250-");
  output_.Append(config_.hostname);
  output_.Append("\r\n250-PIPELINING\r\n");
  if (config_.max_message_size == 0) {
    output_.Append("250-SIZE\r\n");  // RFC 1870 §4: no fixed limit
  } else {
    Reply(absl::StrCat("250-SIZE ", config_.max_message_size, "\r\n"));
  }
  if (client_.starttls_offered && !tls_active_) output_.Append("250-STARTTLS\r\n");
  if (client_.auth_offered && config_.auth != nullptr && tls_active_ && !authenticated_) {
    output_.Append("250-AUTH PLAIN LOGIN\r\n");
  }
  Reply(
      "250-8BITMIME\r\n250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n"
      "250 CHUNKING\r\n");
}

void SmtpSession::OnStartTls(absl::string_view arg) {
  if (tls_active_) return Reply(kTlsActive);
  if (!client_.starttls_offered) return Reply(kTlsUnavailable);
  if (!arg.empty()) return Reply(kStartTlsSyntax);
  if (state_ != State::kGreeted && state_ != State::kReady) return Reply(kInTransaction);
  Reply(kReadyForTls);
  starttls_pending_ = true;
  mode_ = InputMode::kIgnore;
  lines_.Reset();
}

void SmtpSession::OnAuth(absl::string_view arg) {
  if (!client_.auth_offered || config_.auth == nullptr) return Reply(kAuthUnavailable);
  if (state_ == State::kGreeted) return Reply(kNeedHelo);
  if (state_ != State::kReady) return Reply(kInTransaction);
  if (authenticated_) return Reply(kAuthAgain);
  if (!tls_active_) return Reply(kAuthNeedsTls);
  const size_t space = arg.find(' ');
  const absl::string_view mechanism = arg.substr(0, space);
  const absl::string_view initial =
      space == absl::string_view::npos ? absl::string_view() : arg.substr(space + 1);
  if (mechanism.empty() || initial.find(' ') != absl::string_view::npos) return Reply(kAuthSyntax);
  if (absl::EqualsIgnoreCase(mechanism, "PLAIN")) {
    auth_step_ = AuthStep::kPlain;
    if (initial.empty()) return Reply(kEmptyChallenge);
    return OnAuthResponse(initial);
  }
  if (absl::EqualsIgnoreCase(mechanism, "LOGIN")) {
    auth_step_ = AuthStep::kLoginUser;
    if (initial.empty()) return Reply(kLoginUserPrompt);
    return OnAuthResponse(initial);
  }
  Reply(kAuthMechanism);
}

void SmtpSession::OnAuthResponse(absl::string_view line) {
  const AuthStep step = auth_step_;
  auth_step_ = AuthStep::kNone;
  if (line == "*") return Reply(kAuthAborted);  // RFC 4954 §4
  SaslError error = SaslError::kNone;
  switch (step) {
    case AuthStep::kPlain: {
      SaslCredentials credentials;
      error = DecodePlain(line, &credentials);
      if (error == SaslError::kNone) {
        return CheckCredentials(std::move(credentials.user), std::move(credentials.password));
      }
      break;
    }
    case AuthStep::kLoginUser:
      error = DecodeLoginUser(line, &auth_user_);
      if (error == SaslError::kNone) {
        auth_step_ = AuthStep::kLoginPassword;
        return Reply(kLoginPasswordPrompt);
      }
      break;
    case AuthStep::kLoginPassword: {
      std::string password;
      error = DecodeLoginPassword(line, &password);
      if (error == SaslError::kNone) {
        return CheckCredentials(std::move(auth_user_), std::move(password));
      }
      break;
    }
    case AuthStep::kNone:
      CHECK(false);
  }
  auth_user_.clear();
  if (error == SaslError::kBadIdentity) {
    TERN_LOG(kInfo, "smtp client=%s: AUTH with an invalid identity or password", client_.address);
    return AuthFailed(kAuthFailed);
  }
  Reply(kAuthBadResponse);
}

void SmtpSession::CheckCredentials(std::string user, std::string password) {
  auth_user_ = user;
  auth_pending_ = true;
  config_.auth->Check(client_.address, std::move(user), std::move(password),
                      [this](AuthBackend::Result result) { OnAuthChecked(result); });
}

void SmtpSession::OnAuthChecked(AuthBackend::Result result) {
  CHECK(auth_pending_);
  auth_pending_ = false;
  if (state_ != State::kClosing) {
    switch (result) {
      case AuthBackend::Result::kAccepted:
        authenticated_ = true;
        TERN_LOG(kInfo, "smtp client=%s: authenticated as %s", client_.address, auth_user_);
        Reply(kAuthOk);
        break;
      case AuthBackend::Result::kRejected:
        TERN_LOG(kInfo, "smtp client=%s: authentication failed for %s", client_.address,
                 auth_user_);
        auth_user_.clear();
        AuthFailed(kAuthFailed);
        break;
      case AuthBackend::Result::kThrottled:
      case AuthBackend::Result::kUnavailable:
        TERN_LOG(kInfo, "smtp client=%s: authentication %s", client_.address,
                 result == AuthBackend::Result::kThrottled ? "throttled (too many attempts)"
                                                           : "checker overloaded");
        auth_user_.clear();
        Reply(kAuthTemporary);
        break;
    }
    std::string held = std::move(held_input_);
    held_input_.clear();
    if (!held.empty() && state_ != State::kClosing) Consume(held);
  }
  if (async_listener_) async_listener_();  // may free the owner and this session
}

void SmtpSession::AuthFailed(absl::string_view reply) {
  Reply(reply);
  if (++auth_failures_ >= config_.auth_failures_max) {
    TERN_LOG(kWarning, "smtp client=%s: %d authentication failures, closing", client_.address,
             auth_failures_);
    Reply(absl::StrCat("421 4.7.0 ", config_.hostname,
                       " Error: too many authentication failures\r\n"));
    Close();
  }
}

void SmtpSession::OnTlsStarted() {
  CHECK(starttls_pending_);
  CHECK(state_ != State::kClosing);
  starttls_pending_ = false;
  tls_active_ = true;
  // RFC 3207 §4.2: discard all knowledge obtained from the client before TLS.
  ResetTransaction();
  helo_.clear();
  extended_ = false;
  authenticated_ = false;
  state_ = State::kGreeted;
  mode_ = InputMode::kCommand;
  lines_.Reset();
}

void SmtpSession::OnMail(absl::string_view arg) {
  if (state_ == State::kGreeted) return Reply(kNeedHelo);
  if (state_ != State::kReady) return Reply(kNestedMail);
  if (client_.auth_required && !authenticated_) return Reply(kAuthRequired);
  if (!absl::StartsWithIgnoreCase(arg, "FROM:")) return Reply(kMailSyntax);
  ParsedPath path =
      ParsePath(arg.substr(5), PathKind::kReversePath, /*smtputf8=*/true, &path_scratch_);
  if (path.error == PathError::kCommandSyntax) return Reply(kMailSyntax);
  if (path.error == PathError::kAddressSyntax) return Reply(kBadSender);

  MailArguments args;
  const absl::string_view error = ParseMailArguments(path.parameters, extended_, &args);
  if (!error.empty()) return Reply(error);
  // RFC 6531 §3.5: a non-ASCII address needs the SMTPUTF8 parameter.
  if (!args.smtputf8 && HasHighBit(path.address)) return Reply(kNeedSmtputf8);
  if (config_.max_message_size != 0 && args.size > config_.max_message_size) {
    return Reply(kTooBig);
  }
  if (authenticated_ && config_.sender_login_match && !path.address.empty() &&
      !config_.auth->OwnsSender(auth_user_, path.address)) {
    TERN_LOG(kInfo, "smtp client=%s: sender <%s> not owned by user %s", client_.address,
             path.address, auth_user_);
    return Reply(absl::StrCat("553 5.7.1 <", path.address,
                              ">: Sender address rejected: not owned by user ", auth_user_,
                              "\r\n"));
  }
  absl::Status accepting = sink_->CheckAcceptingMail();
  if (!accepting.ok()) {
    return Reply(absl::IsResourceExhausted(accepting) ? kNoStorage : kNotAccepting);
  }
  ResetTransaction();
  // Both are parts of this command line (the address dequoted, so no longer).
  CHECK_LE(path.address.size() + args.envid.size(), kCommandLineBytesMax);
  sender_ = ArenaAppend(path.address);
  envid_ = ArenaAppend(args.envid);
  dsn_ret_ = args.dsn_ret;
  smtputf8_ = args.smtputf8;
  body_type_ = args.body_type;
  declared_size_ = args.size;
  state_ = State::kMail;
  Reply(kMailOk);
}

void SmtpSession::OnRcpt(absl::string_view arg) {
  if (state_ == State::kGreeted || state_ == State::kReady) return Reply(kNeedMail);
  if (state_ == State::kBdat) return Reply(kRcptAfterBdat);
  CHECK(state_ == State::kMail || state_ == State::kRcpt);
  if (!absl::StartsWithIgnoreCase(arg, "TO:")) return Reply(kRcptSyntax);
  ParsedPath path =
      ParsePath(arg.substr(3), PathKind::kForwardPath, /*smtputf8=*/true, &path_scratch_);
  if (path.error == PathError::kCommandSyntax) return Reply(kRcptSyntax);
  if (path.error == PathError::kAddressSyntax) return Reply(kBadRecipient);
  RcptArguments args;
  const absl::string_view error = ParseRcptArguments(path.parameters, extended_, &args);
  if (!error.empty()) return Reply(error);
  if (!smtputf8_ && HasHighBit(path.address)) return Reply(kNeedSmtputf8);
  if (recipients_.size() >= config_.max_recipients) return Reply(kTooManyRecipients);
  // RFC 5321 §4.5.1: <Postmaster> (no domain) must be accepted; routing it is the queue's job.
  if (!path.domain.empty() &&
      DecideRecipient(config_.relay_policy, client_.may_relay, authenticated_, path.local_part,
                      path.domain) != RecipientVerdict::kAccept) {
    TERN_LOG(kInfo, "smtp client=%s: relay denied for <%s>", client_.address, path.address);
    return Reply(kRelayDenied);
  }
  if (config_.recipient_screen != nullptr &&
      config_.recipient_screen->Refuses(ArenaView(sender_), path.address, &screen_reply_)) {
    SmtpCounters::Add(counters_->recipients_screened_out, 1);
    TERN_LOG(kInfo, "smtp client=%s: <%s> refused: %s", client_.address, path.address,
             absl::StripAsciiWhitespace(screen_reply_));
    return Reply(screen_reply_);
  }
  // Both are parts of this command line: the arena grows by at most a line per recipient.
  CHECK_LE(path.address.size() + args.orcpt.size(), kCommandLineBytesMax);
  RecipientSpans recipient;
  recipient.address = ArenaAppend(path.address);
  recipient.orcpt = ArenaAppend(args.orcpt);
  recipient.notify = args.notify;
  recipients_.push_back(recipient);
  state_ = State::kRcpt;
  Reply(kRcptOk);
}

void SmtpSession::OnData(absl::string_view arg) {
  if (state_ == State::kBdat) return Reply(kDataAfterBdat);
  if (state_ == State::kMail) return Reply(kNoValidRcpt);
  if (state_ != State::kRcpt) return Reply(kNeedRcpt);
  if (!arg.empty()) return Reply(kDataSyntax);
  if (absl::Status begun = BeginMessage(); !begun.ok()) return Reply(StorageFailureReply(begun));
  state_ = State::kData;
  mode_ = InputMode::kDataBody;
  data_reader_.Reset();
  Reply(kStartData);
}

void SmtpSession::OnBdat(absl::string_view arg) {
  // RFC 3030 §3: "BDAT" SP chunk-size [ SP end-marker ].
  if (!chunk_.Begin(arg)) {
    // Without a valid count the chunk cannot be skipped: the rest of the input would be
    // read as commands. Close rather than lose sync.
    TERN_LOG(kInfo, "smtp client=%s: bad BDAT syntax, closing", client_.address);
    Reply(kBdatSyntax);
    return Close();
  }
  chunk_discard_ = true;  // unless the transaction takes it, below
  mode_ = InputMode::kChunkBody;
  if (state_ == State::kGreeted || state_ == State::kReady) {
    Reply(kNeedMail);
  } else if (state_ == State::kMail) {
    Reply(kNoValidRcpt);
  } else if (absl::Status begun = state_ == State::kRcpt ? BeginMessage() : absl::OkStatus();
             !begun.ok()) {
    Reply(StorageFailureReply(begun));
    ResetTransaction();
  } else {
    CHECK(state_ == State::kRcpt || state_ == State::kBdat);
    if (state_ == State::kRcpt) chunk_reader_.Reset();
    state_ = State::kBdat;
    chunk_discard_ = false;
  }
  if (chunk_.complete()) FinishChunk();
}

void SmtpSession::OnRset(absl::string_view arg) {
  if (!arg.empty()) return Reply(kRsetSyntax);
  ResetTransaction();
  Reply(kOk);
}

void SmtpSession::OnQuit(absl::string_view arg) {
  if (!arg.empty()) return Reply(kQuitSyntax);
  Reply(kBye);
  Close();
}

// ---------------------------------------------------------------------------------------
// Messages.

SmtpSession::Span SmtpSession::ArenaAppend(absl::string_view text) {
  CHECK_LE(text.size(), kCommandLineBytesMax);
  Span span{static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(text.size())};
  arena_.append(text.data(), text.size());
  CHECK_LE(arena_.size(), (config_.max_recipients + 1) * kCommandLineBytesMax);
  return span;
}

absl::Status SmtpSession::BeginMessage() {
  recipient_views_.clear();
  for (const RecipientSpans& r : recipients_) {
    recipient_views_.push_back(EnvelopeRecipient{
        .address = ArenaView(r.address), .notify = r.notify, .orcpt = ArenaView(r.orcpt)});
  }
  EnvelopeView envelope;
  envelope.helo = helo_;
  envelope.client_address = client_.address;
  envelope.sender = ArenaView(sender_);
  envelope.recipients = recipient_views_;
  envelope.body_type = body_type_;
  envelope.smtputf8 = smtputf8_;
  envelope.declared_size = declared_size_;
  envelope.dsn_ret = dsn_ret_;
  envelope.envid = ArenaView(envid_);
  if (authenticated_ && config_.auth != nullptr) {
    envelope.auth_pool = config_.auth->PoolOf(auth_user_);
  }
  record_ = core::ByteBuffer();
  record_.Reserve(RecordBytesToReserve(declared_size_, config_.max_message_size, arena_.size()));
  absl::StatusOr<uint64_t> queue_id = sink_->BeginMessage(envelope, &record_);
  if (!queue_id.ok()) {
    TERN_LOG(kWarning, "smtp client=%s: cannot begin message: %s", client_.address,
             queue_id.status().ToString());
    record_ = core::ByteBuffer();
    return queue_id.status();
  }
  queue_id_ = *queue_id;
  storing_ = true;
  body_begin_ = record_.size();
  header_scan_from_ = body_begin_;
  header_section_pending_ = sink_->WantsHeaderSection();
  sink_refusal_.clear();
  AppendReceivedHeader();
  return absl::OkStatus();
}

void SmtpSession::AppendReceivedHeader() {
  // RFC 5321 §4.4 trace field; RFC 6531 §3.7.3 "UTF8SMTP" as the protocol for SMTPUTF8.
  const bool v6 = client_.address.find(':') != std::string::npos;
  // RFC 3848: ESMTPS once TLS is active (RFC 6531 §3.7.3: UTF8SMTPS).
  const char* protocol = ReceivedProtocol(extended_, smtputf8_, tls_active_, authenticated_);
  char id[17];
  absl::SNPrintF(id, sizeof(id), "%016X", queue_id_);
  record_.Append("Received: from ");
  record_.Append(helo_);
  record_.Append(v6 ? " ([IPv6:" : " ([");
  record_.Append(client_.address);
  record_.Append("])\r\n\tby ");
  record_.Append(config_.hostname);
  record_.Append(" (Tern) with ");
  record_.Append(protocol);
  record_.Append(" id ");
  record_.Append(id);
  if (!recipients_.empty()) {
    record_.Append("\r\n\tfor <");
    record_.Append(ArenaView(recipients_.front().address));
    record_.Append(">");
  }
  record_.Append("; ");
  // RFC 5322 §3.3 date-time.
  record_.Append(
      absl::FormatTime("%a, %d %b %Y %H:%M:%S +0000", config_.clock(), absl::UTCTimeZone()));
  record_.Append("\r\n");
}

void SmtpSession::ScanHeaderSection(bool at_end) {
  CHECK(storing_ && header_section_pending_);
  const absl::string_view bytes = record_.view();
  CHECK_LE(header_scan_from_, bytes.size());
  // RFC 5322 §2.1: the header section ends at the first empty line. The Received: header
  // ends with CRLF, so an empty line right at the start of the client's data is found too.
  const size_t empty_line = bytes.find("\r\n\r\n", header_scan_from_);
  size_t header_end = 0;
  if (empty_line != absl::string_view::npos) {
    header_end = empty_line + 4;
  } else if (at_end) {
    header_end = bytes.size();
  } else {
    // Resume where a CRLF CRLF split across reads can still start: each byte is looked at
    // a bounded number of times, the body after the header section never.
    header_scan_from_ = std::max(body_begin_, bytes.size() >= 3 ? bytes.size() - 3 : 0);
    return;
  }
  header_section_pending_ = false;
  const absl::Status looked = sink_->OnHeaderSection(&record_, body_begin_, header_end);
  if (looked.ok()) return;
  // The reason goes into a reply line: printable ASCII only, bounded.
  std::string reason(looked.message().substr(0, kSinkReasonBytesMax));
  for (char& c : reason) {
    if (c < 32 || c > 126) c = '?';
  }
  sink_refusal_ = absl::StrCat("554 5.3.0 ", reason, "\r\n");
  record_ = core::ByteBuffer();  // read on to the end without keeping the bytes
  storing_ = false;
}

void SmtpSession::FinishData() {
  CHECK(state_ == State::kData);
  ++requests_completed_;
  mode_ = InputMode::kCommand;
  EndMessage(data_reader_.flaws(), data_reader_.body_bytes());
}

void SmtpSession::FinishChunk() {
  ++requests_completed_;
  mode_ = InputMode::kCommand;
  if (chunk_discard_) {
    chunk_discard_ = false;  // answered when the BDAT command was read
    return;
  }
  CHECK(state_ == State::kBdat);
  if (!chunk_.last()) {
    char reply[64];
    absl::SNPrintF(reply, sizeof(reply), "250 2.0.0 %d bytes received\r\n", chunk_.size());
    return Reply(reply);
  }
  chunk_reader_.Finish(storing_ ? &record_ : nullptr);
  EndMessage(chunk_reader_.flaws(), chunk_reader_.bytes_received());
}

void SmtpSession::EndMessage(const BodyFlaws& flaws, uint64_t body_bytes) {
  CHECK(state_ == State::kData || state_ == State::kBdat);
  // Which flaw is answered when there are several: smuggling first, then content, then size.
  if (flaws.bare_cr_or_lf) return RejectMessage(kBareCrLf, "bare CR or LF in body");
  if (flaws.nul) return RejectMessage(kNul, "NUL in body");
  if (flaws.line_too_long) return RejectMessage(kLineTooLong, "text line too long");
  if (config_.max_message_size != 0 && body_bytes > config_.max_message_size) {
    return RejectMessage(kTooBig, "message too big");
  }
  if (storing_ && header_section_pending_) ScanHeaderSection(/*at_end=*/true);
  if (!sink_refusal_.empty()) {
    const std::string reply = std::move(sink_refusal_);
    sink_refusal_.clear();
    return RejectMessage(reply, "refused by the spool sink");
  }
  CHECK(storing_);  // the body was dropped only for a flaw, its size or the sink's refusal
  if (pending_commits_ >= kPendingCommitsMax) {
    return RejectMessage(kTooManyInFlight, "too many commits in flight");
  }
  PendingCommit* commit;
  if (free_commits_.empty()) {
    commits_.push_back(std::make_unique<PendingCommit>(this));
    commit = commits_.back().get();
  } else {
    commit = free_commits_.back();
    free_commits_.pop_back();
  }
  commit->slot = output_.AppendPending();
  commit->queue_id = queue_id_;
  commit->body_bytes = body_bytes;
  commit->data_end = absl::Now();
  ++pending_commits_;
  core::ByteBuffer record = std::move(record_);
  storing_ = false;
  ResetTransaction();
  sink_->CommitMessage(commit->queue_id, std::move(record), commit);
}

void SmtpSession::RejectMessage(absl::string_view reply, absl::string_view reason) {
  SmtpCounters::Add(counters_->messages_rejected, 1);
  TERN_LOG(kInfo, "smtp client=%s: message rejected: %s (%s)", client_.address, reason,
           absl::StripAsciiWhitespace(reply));
  Reply(reply);
  ResetTransaction();
}

void SmtpSession::OnCommitted(PendingCommit* commit, absl::Status status) {
  CHECK_GT(pending_commits_, 0u);
  --pending_commits_;
  if (status.ok()) {
    SmtpCounters::Add(counters_->messages_accepted, 1);
    SmtpCounters::Add(counters_->bytes_accepted, commit->body_bytes);
    core::ObserveLatency(
        counters_->accept_latency,
        static_cast<uint64_t>(absl::ToInt64Microseconds(absl::Now() - commit->data_end)));
    char reply[64];
    absl::SNPrintF(reply, sizeof(reply), "250 2.0.0 Ok: queued as %016X\r\n", commit->queue_id);
    output_.Fill(commit->slot, reply);
  } else {
    // A full disk is 452 4.3.1 at any point (RFC 3463 §3.4), also when the segment the
    // message needed could not be preallocated after its data had arrived.
    const bool no_storage = absl::IsResourceExhausted(status);
    SmtpCounters::Add(counters_->messages_rejected, 1);
    counters_->CountReply(no_storage ? 452 : 451);
    TERN_LOG(kWarning, "smtp client=%s: commit of %016X failed: %s", client_.address,
             commit->queue_id, status.ToString());
    output_.Fill(commit->slot, StorageFailureReply(status));
  }
  free_commits_.push_back(commit);
}

void SmtpSession::ResetTransaction() {
  arena_.clear();
  sender_ = Span{0, 0};
  envid_ = Span{0, 0};
  dsn_ret_ = kDsnRetNone;
  recipients_.clear();
  body_type_ = BodyType::kSevenBit;
  smtputf8_ = false;
  declared_size_ = 0;
  header_section_pending_ = false;
  sink_refusal_.clear();
  if (storing_) {
    record_ = core::ByteBuffer();  // abandoned: the sink forgets a message never committed
    storing_ = false;
  }
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

}  // namespace tern::net::smtp
