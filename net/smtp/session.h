// SmtpSession: the server side of one SMTP connection, as pure protocol logic. It parses
// what the client sent and queues the replies; the connection glue that owns it moves the
// bytes (no sockets, no io_uring here).
//
//   SmtpSession session(config, client, &sink, &counters);
//   session.Start();                       // queues the 220 greeting
//   on receive(bytes):  session.Consume(bytes);
//   whenever session.output().Sendable() is not empty: send it, then output().Consume(sent)
//   arm a timer for session.current_timeout() after each receive; on expiry: OnTimeout()
//   close once session.wants_close() and the output is flushed (at once if
//   output_overflowed()); keep the session alive while pending_commits() > 0.
//
// Input may be split anywhere: the same bytes in one call, byte by byte, or at any split
// give the same replies and the same stored messages. Command lines are parsed as views
// into the caller's bytes; only a line split across two Consume() calls is copied (into a
// buffer of kCommandLineBytesMax). Envelope strings (addresses, ENVID, ORCPT) are copied
// once into a per-transaction arena; body bytes are copied once, into the message record.
//
// Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY EXPN HELP STARTTLS. Extensions:
// PIPELINING, SIZE, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES, DSN, CHUNKING, and STARTTLS
// (RFC 3207) when the owner can offer it (ClientInfo::starttls_offered). Every reply but
// the greeting and the EHLO/HELO answer carries an RFC 3463 enhanced status code (RFC 2034
// §3). DSN (RFC 3461): RET= and ENVID= on MAIL, NOTIFY= and ORCPT= on RCPT, only after
// EHLO (after HELO they are unsupported parameters, 555 5.5.4); a bad or repeated one is
// answered 501 5.5.4 (net/smtp/dsn_parameters.h). ENVID and ORCPT reach the sink as
// received, xtext-encoded.
//
// STARTTLS: the session answers "220 2.0.0 Ready to start TLS", drops every byte that came
// after the command in the same Consume() call (plaintext pipelined behind STARTTLS is an
// injection attempt, CVE-2011-0411) and ignores input until the owner has flushed the 220,
// started TLS on the connection and called OnTlsStarted(); the session then forgets EHLO
// and everything learnt before (RFC 3207 §4.2). A second STARTTLS gets 554 5.5.1.
//
// AUTH (RFC 4954; PLAIN, RFC 4616, and LOGIN) when the owner offers it on this listener
// (ClientInfo::auth_offered) and config.auth is set: advertised only under TLS, and
// answered 538 5.7.11 without it. The password check is asynchronous (config.auth answers
// later): input that arrives meanwhile is held (at most kAuthHeldBytesMax) and processed
// after the answer. 235 2.7.0 on success; 535 5.7.8 for an unknown user and a wrong password
// alike; after config.auth_failures_max failures 421 4.7.0 and close; 454 4.7.0 when the
// checker throttles or is overloaded. With ClientInfo::auth_required, MAIL needs AUTH first
// (530 5.7.0); with config.sender_login_match an authenticated client may only use senders
// it owns (553 5.7.1). An authenticated client may relay anywhere.
//
// After end of data the message is committed through the MessageSink and its 250 waits in
// a ReplyQueue slot until the commit completes; parsing of pipelined commands goes on
// meanwhile, and their replies queue behind the slot.
//
// Bounds (what happens at the limit):
//   - command line kCommandLineBytesMax with CRLF: the rest of the line is skipped and
//     answered "500 5.5.2 Line too long" (Postfix smtpd_chat.c), staying in sync.
//   - text line kTextLineBytesMax, message size config.max_message_size: the message is
//     read to its end, then refused (500 5.5.2 / 552 5.3.4); nothing is stored.
//   - recipients config.max_recipients: the extras get 452 4.5.3, the message goes on.
//   - envelope arena: each MAIL or RCPT adds at most its own command line (address plus
//     ENVID or ORCPT), so at most (max_recipients + 1) * kCommandLineBytesMax per transaction.
//   - pending commits kPendingCommitsMax: a message that would exceed it is answered
//     451 4.3.0 at its end and not stored (the client may retry).
//   - queued output kOutputBytesMax (a client that sends but never reads): the session
//     logs, stops reading and wants_close() with output_overflowed().
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/byte_buffer.h"
#include "net/smtp/auth_backend.h"
#include "net/smtp/bdat_chunk.h"
#include "net/smtp/body_reader.h"
#include "net/smtp/command_line_reader.h"
#include "net/smtp/message_sink.h"
#include "net/smtp/recipient_screen.h"
#include "net/smtp/relay_policy.h"
#include "net/smtp/reply_queue.h"
#include "net/smtp/smtp_counters.h"

namespace tern::net::smtp {

inline constexpr size_t kPendingCommitsMax = 256;
inline constexpr size_t kOutputBytesMax = size_t{1} << 20;
inline constexpr size_t kAuthHeldBytesMax = 64 * 1024;

struct SessionConfig {
  std::string hostname = "localhost";       // greeting, EHLO, Received:
  uint64_t max_message_size = 35ull << 20;  // bytes; 0 = unlimited
  size_t max_recipients = 1000;
  const RelayPolicy* relay_policy = nullptr;  // null: no relay domains
  // Asked last at every RCPT (the suppression list); null: none.
  const RecipientScreen* recipient_screen = nullptr;
  absl::Duration idle_timeout = absl::Seconds(300);
  absl::Duration data_timeout = absl::Seconds(600);  // while reading a DATA/BDAT body
  absl::Time (*clock)() = &absl::Now;                // the Received: date (tests fix it)
  AuthBackend* auth = nullptr;                       // null: no AUTH anywhere
  bool sender_login_match = false;                   // see the top of this file
  uint32_t auth_failures_max = 3;                    // per connection, then 421
};

struct ClientInfo {
  std::string address;  // "192.0.2.1" or "2001:db8::1"
  uint16_t port = 0;
  bool may_relay = false;         // RelayPolicy::ClientMayRelay, computed by the owner
  bool starttls_offered = false;  // the owner can start TLS on this connection
  bool tls = false;               // the connection is encrypted from the start (port 465)
  bool auth_offered = false;      // AUTH on this listener (submission), under TLS
  bool auth_required = false;     // MAIL only after AUTH (530 5.7.0)
};

class SmtpSession {
 public:
  // `config`, `sink` and `counters` must outlive the session.
  SmtpSession(const SessionConfig& config, const ClientInfo& client, MessageSink* sink,
              SmtpCounters* counters);
  // The owner must not destroy a session with pending_commits() > 0.
  ~SmtpSession();
  SmtpSession(const SmtpSession&) = delete;
  SmtpSession& operator=(const SmtpSession&) = delete;

  // Queues the "220 <hostname> ESMTP Tern" greeting. Call once, before Consume().
  void Start();
  // Processes received bytes, in any split. Bytes after QUIT or a fatal error are ignored.
  void Consume(absl::string_view bytes);
  // The idle or data timeout expired: queues 421 4.4.2 and wants_close().
  void OnTimeout();
  // The server is shutting down: queues 421 4.3.2 and wants_close().
  void OnShutdown();

  ReplyQueue& output() { return output_; }
  // The owner closes the connection once the output is flushed.
  bool wants_close() const { return state_ == State::kClosing; }
  // The client did not read its replies: close without waiting for the flush.
  bool output_overflowed() const { return output_overflowed_; }
  // The timeout that applies now: data_timeout while a body is being read, else idle.
  absl::Duration current_timeout() const;
  // Requests completed so far (command lines, message bodies, BDAT chunks): the owner's
  // per-request deadline starts again when this changes.
  uint64_t requests_completed() const { return requests_completed_; }
  // A DATA body or BDAT chunk is being received (the minimum data rate applies).
  bool reading_body() const {
    return mode_ == InputMode::kDataBody || mode_ == InputMode::kChunkBody;
  }
  // Messages handed to the sink whose commit has not completed yet.
  size_t pending_commits() const { return pending_commits_; }

  // STARTTLS was accepted: once output() is flushed, the owner starts TLS on the
  // connection, then calls OnTlsStarted(). Input is ignored meanwhile.
  bool wants_tls() const { return starttls_pending_; }
  void OnTlsStarted();
  // The connection is encrypted (implicit TLS, or after STARTTLS).
  bool tls_active() const { return tls_active_; }
  // A password check is in flight: the owner keeps the session alive until it is answered.
  bool auth_pending() const { return auth_pending_; }
  // Called after an asynchronous answer (AUTH) queued replies: the owner flushes them.
  void set_async_listener(absl::AnyInvocable<void()> listener) {
    async_listener_ = std::move(listener);
  }

 private:
  // The protocol state. Input framing (command line, body) is InputMode.
  enum class State : uint8_t {
    kNew,      // before Start()
    kGreeted,  // greeting queued, no EHLO/HELO yet
    kReady,    // EHLO/HELO done, no transaction
    kMail,     // MAIL accepted, no recipient yet
    kRcpt,     // at least one recipient accepted
    kData,     // reading a DATA body
    kBdat,     // BDAT chunks of the transaction being received
    kClosing,  // QUIT, timeout, shutdown or fatal error: input is ignored
  };
  enum class InputMode : uint8_t {
    kCommand,    // command lines
    kDataBody,   // DATA body up to "\r\n.\r\n"
    kChunkBody,  // BDAT chunk bytes (chunk_.remaining() left); may be discarded
    kIgnore,     // after kClosing
  };
  class PendingCommit;
  struct Span {
    uint32_t offset;
    uint32_t size;
  };
  struct RecipientSpans {
    Span address;
    Span orcpt;          // empty if absent
    uint8_t notify = 0;  // DsnNotify bits
  };

  // Input framing.
  size_t ConsumeCommandBytes(absl::string_view in);
  size_t ConsumeDataBytes(absl::string_view in);
  size_t ConsumeChunkBytes(absl::string_view in);
  void ProcessLine(absl::string_view line, bool crlf);

  // Commands.
  void DispatchCommand(absl::string_view line);
  void OnEhlo(absl::string_view arg, bool extended);
  void OnMail(absl::string_view arg);
  void OnRcpt(absl::string_view arg);
  void OnData(absl::string_view arg);
  void OnBdat(absl::string_view arg);
  void OnRset(absl::string_view arg);
  void OnQuit(absl::string_view arg);
  void OnStartTls(absl::string_view arg);
  void OnAuth(absl::string_view arg);
  void OnAuthResponse(absl::string_view line);
  void CheckCredentials(std::string user, std::string password);
  void OnAuthChecked(AuthBackend::Result result);
  void AuthFailed(absl::string_view reply);
  void HoldInput(absl::string_view bytes);

  // Messages.
  // OK, or why the sink could not start the message (ResourceExhausted: the disk is full).
  absl::Status BeginMessage();
  void AppendReceivedHeader();
  // Calls sink_->OnHeaderSection once record_ holds the header section (at_end: the data
  // ended, the whole body is the section).
  void ScanHeaderSection(bool at_end);
  void FinishData();
  void FinishChunk();
  // Commits the record or refuses the message; ends the transaction either way.
  void EndMessage(const BodyFlaws& flaws, uint64_t body_bytes);
  void RejectMessage(absl::string_view reply, absl::string_view reason);
  void OnCommitted(PendingCommit* commit, absl::Status status);
  void ResetTransaction();

  // Output.
  void Reply(absl::string_view line);
  void Close();

  absl::string_view ArenaView(Span span) const {
    return absl::string_view(arena_).substr(span.offset, span.size);
  }
  Span ArenaAppend(absl::string_view text);

  const SessionConfig& config_;
  const ClientInfo client_;
  std::string screen_reply_;  // a RecipientScreen's refusal, reused
  MessageSink* const sink_;
  SmtpCounters* const counters_;

  State state_ = State::kNew;
  InputMode mode_ = InputMode::kCommand;
  ReplyQueue output_;
  bool output_overflowed_ = false;
  CommandLineReader lines_;
  std::string helo_;
  bool extended_ = false;       // EHLO (not HELO)
  bool authenticated_ = false;  // no AUTH yet
  bool tls_active_ = false;
  uint64_t requests_completed_ = 0;
  enum class AuthStep : uint8_t { kNone, kPlain, kLoginUser, kLoginPassword };
  AuthStep auth_step_ = AuthStep::kNone;  // waiting for a 334 response line
  bool auth_pending_ = false;             // a check is in flight
  uint32_t auth_failures_ = 0;
  std::string auth_user_;   // authenticated (or, during LOGIN, the name given)
  std::string held_input_;  // received while a check was in flight
  absl::AnyInvocable<void()> async_listener_;
  bool starttls_pending_ = false;  // 220 to STARTTLS queued, waiting for OnTlsStarted()

  // The transaction (MAIL to end of data).
  std::string arena_;  // envelope strings, bounded by (max_recipients + 1) * command line
  Span sender_{0, 0};
  Span envid_{0, 0};     // RFC 3461 ENVID, xtext; empty if absent
  uint8_t dsn_ret_ = 0;  // RFC 3461 RET, DsnRet
  std::vector<RecipientSpans> recipients_;
  std::vector<EnvelopeRecipient> recipient_views_;  // reused for BeginMessage
  std::string path_scratch_;                        // dequoted quoted-string addresses
  BodyType body_type_ = BodyType::kSevenBit;
  bool smtputf8_ = false;
  uint64_t declared_size_ = 0;

  // The message being received.
  core::ByteBuffer record_;
  bool storing_ = false;  // record_ holds a begun message that is still wanted
  // MessageSink::OnHeaderSection: whether it is still to be called for this message, where
  // the body starts in record_, and where the search for the header section's end resumes.
  bool header_section_pending_ = false;
  size_t body_begin_ = 0;
  size_t header_scan_from_ = 0;
  static constexpr size_t kSinkReasonBytesMax = 400;  // of a 512-byte reply line
  std::string sink_refusal_;  // the sink's reason to refuse this message; empty: none
  uint64_t queue_id_ = 0;
  DataBodyReader data_reader_;
  ChunkBodyReader chunk_reader_;
  BdatChunk chunk_;             // the BDAT chunk being read
  bool chunk_discard_ = false;  // the chunk was refused: read and drop it

  // Commits in flight; finished ones are kept for reuse.
  size_t pending_commits_ = 0;
  std::vector<std::unique_ptr<PendingCommit>> commits_;
  std::vector<PendingCommit*> free_commits_;
};

}  // namespace tern::net::smtp
