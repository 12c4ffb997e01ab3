// SmtpClientSession: the client side of ONE outbound SMTP connection, as pure protocol
// logic: greeting, EHLO (HELO fallback), then any number of mail transactions, then QUIT.
// It parses what the server sent and queues the commands; the owner moves the bytes,
// arms the timers and decides what to deliver next (no sockets, no io_uring here).
//
//   SmtpClientSession session(config, &handler, &counters);
//   on receive(bytes):        session.Consume(bytes);
//   on peer close or error:   session.OnDisconnected();
//   whenever session.output() is not empty: send output().Peek(...), then
//                              output().Consume(bytes_sent)
//   after each send completion and receive: arm a timer for session.current_timeout();
//                              on expiry: session.OnTimeout()
//   handler.OnReady():        session.StartTransaction(message) or session.Quit()
//   handler.OnTransactionDone(result): record each recipient's result
//   once session.wants_close(): close after the output is flushed, or at once (cancelling
//                              any send in flight) if session.discard_output()
//
// Transactions (RFC 5321 §3.3). With PIPELINING (RFC 2920) MAIL, every RCPT and DATA go
// out in one batch and the replies are matched in order; without it, one command at a
// time. After 354 the stored body (CRLF, dot-stuffed) is queued by reference, never
// copied, followed by ".\r\n" (preceded by a CRLF if the body does not end with one).
// When the server offers CHUNKING (RFC 3030), "BDAT <size> LAST" replaces DATA: the whole
// message is one chunk, sent right after the command (there is no 354), in the pipelined
// batch if there is one. A chunk carries the message unstuffed, so the body is queued by
// reference as the ranges between its stuffing dots (one dot less per line that starts
// with one; still never copied: one external range per such line, so output() may hold
// many), plus an owned CRLF if it does not end with one; <size> counts exactly those bytes
// (one scan of the body). A body that would need more than kChunkRangesMax ranges goes
// with DATA (RFC 3030 §2 leaves DATA usable). BODY=8BITMIME is declared when the message is 8-bit
// and the server offers 8BITMIME, and the RFC 3461 DSN parameters (RET, ENVID, NOTIFY, ORCPT) when
// it offers DSN (telling the sender when it does not is the queue's business); an 8-bit
// message to a server without it is sent as is (as Postfix does), since there is no
// downgrade here.
//
// Per-recipient results (one RecipientResult per recipient, in the message's order):
//   - refused locally, nothing sent: a SIZE over the server's limit (552 5.3.4, RFC 1870
//     §6.1) or SMTPUTF8 needed and not offered (553 5.6.7, RFC 6531 §3.4);
//   - MAIL refused: every recipient gets MAIL's reply (4xx temp, 5xx perm);
//   - RCPT refused: that recipient gets its reply; if none was accepted the DATA reply is
//     absorbed (and a 354 answered with a lone dot), then RSET; with CHUNKING, BDAT is sent
//     only with the pipelined batch, and its reply (503/554) is absorbed likewise;
//   - DATA or end-of-data refused: the accepted recipients get that reply; the reply to
//     BDAT LAST is the end-of-data reply (stage kDataEnd), and RSET follows a 4xx/5xx one
//     (RFC 3030 §2 fails the transaction without saying the server ended it);
//   - end of data 2xx: the accepted recipients are delivered;
//   - connection lost, timeout or a malformed/unexpected reply while a transaction is in
//     flight: EVERY recipient of it is a temporary failure (451 4.4.2 or 4.5.0), even
//     after the dot was sent: the caller retries (at least once, never lost).
// After a transaction that opened a mail transaction on the server and did not end with
// the end-of-data reply, RSET is sent before OnReady(); otherwise the next MAIL follows
// directly.
//
// Transactions pipelined behind the end of data (RFC 2920 §3.1: message content may begin
// a group; RFC 3030 §2: BDAT may be followed by more commands). With PIPELINING offered,
// once a transaction's commands and body are all queued (at once with BDAT, after 354 with
// DATA), can_pipeline() turns true and handler.OnCanPipeline() says so (not from inside
// StartTransaction(): the caller asks can_pipeline() itself): StartTransaction() then
// takes the NEXT transaction, whose MAIL, RCPTs and DATA/BDAT go out at once behind the
// current one, without waiting for its final reply. config.pipeline_depth are in flight at
// most (with DATA, two: a body waits for its 354, which comes after the end-of-data reply
// before it; with BDAT, as many as the depth: all of them in one round trip); a third and
// later one is queued only while less than kPipelineBacklogBytesMax of bodies wait to be
// sent. Their OnTransactionDone() calls come in the order they were started (a pipelined one
// refused locally waits for the one before it), then OnReady() when nothing is left. When a
// transaction ends in a way that may leave it open on the server (BDAT LAST refused, nobody
// accepted), no RSET can come before the one behind it: if that one's MAIL is then refused,
// or a MAIL pipelined this way is answered 503 at all (a server that does not take
// pipelining across transactions), it is reported retry_at_once (not tried; 451 4.5.0), the
// same holds for the one behind it, and RSET follows the last; after a 503 this connection
// pipelines no more transactions (transaction_pipelining_refused()).
//
// STARTTLS (RFC 3207), by set_starttls() before the greeting: after EHLO, a server offering
// STARTTLS is sent it; at its 220 wants_tls() turns true, the owner starts TLS on the
// socket once output() is flushed and calls OnTlsStarted(), and the session says EHLO again
// (what it learnt before TLS is forgotten) before it is ready. Opportunistic: a server that
// does not offer STARTTLS or refuses it gets the mail in plaintext. Required: either fails
// the connection (4.7.10 "TLS required"; the owner defers), as does a failed handshake
// (the owner's OnTlsFailed()). A reply pipelined behind the 220 is a protocol error.
//
// Resuming a connection that another session already greeted and EHLO'd (an idle one parked
// in net/destination_pool.h by some shard and taken by this one): construct the session
// with the capabilities that session learned; it starts ready, sends nothing, and Resume()
// announces it, so that handler.OnReady() is the first callback, as for a new connection:
//
//   ASSIGN_OR_RETURN(ServerCapabilities caps, ServerCapabilities::Parse(parked.capabilities));
//   SmtpClientSession session(config, &handler, &counters, caps);
//   ... adopt the socket and start receiving ...
//   session.Resume();  // handler.OnReady(): StartTransaction(message) or Quit()
//
// Anything the server sends before the first command (a 421 on an idle connection) fails
// the session as on any idle connection (OnConnectionFailed()); Resume() then says
// FailedPrecondition and calls nothing. The parking side must have left its session
// ready() with its output flushed; Connection::Release() (net/transport.h) checks that no
// byte is left unread on the socket.
//
// Callbacks happen inside Consume(), OnDisconnected(), OnTimeout(), Resume() and
// StartTransaction() (local refusals); a handler may call StartTransaction() or Quit()
// from OnReady() (nested local refusals are unrolled, not recursed), not from
// OnTransactionDone() (whose result views it would invalidate), and must not destroy the
// session inside a callback. Each accepted StartTransaction() leads to exactly one
// OnTransactionDone().
//
// Bounds: kTransactionRecipientsMax recipients per transaction (the caller splits larger
// lists); reply lines, counts and sizes as in client_reply_parser.h (over them, the
// connection fails); result texts at kResultReplyBytesMax each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "net/smtp/client_capabilities.h"
#include "net/smtp/client_commands.h"
#include "net/smtp/client_counters.h"
#include "net/smtp/client_output.h"
#include "net/smtp/client_reply_parser.h"
#include "net/smtp/client_transaction.h"
#include "net/smtp/outbound_message.h"

namespace tern::net::smtp {

enum class StartTlsPolicy : uint8_t {
  kNever,          // plaintext only
  kOpportunistic,  // STARTTLS when offered (RFC 7435), else plaintext
  kRequired,       // STARTTLS or no delivery over this connection
};

struct ClientConfig {
  std::string helo_name = "localhost";  // sent in EHLO/HELO
  // RFC 5321 §4.5.3.2 timeouts.
  absl::Duration greeting_timeout = absl::Minutes(5);
  absl::Duration mail_timeout = absl::Minutes(5);
  absl::Duration rcpt_timeout = absl::Minutes(5);
  absl::Duration data_init_timeout = absl::Minutes(2);
  absl::Duration data_block_timeout = absl::Minutes(3);   // each send of the body
  absl::Duration data_final_timeout = absl::Minutes(10);  // the reply to the dot
  // EHLO, HELO, RSET and QUIT (the RFC names no value; 5 minutes like MAIL).
  absl::Duration command_timeout = absl::Minutes(5);
  // Pipeline the next transaction behind the current one's end of data when the server
  // offers PIPELINING (can_pipeline()).
  bool pipeline_transactions = true;
  // Transactions in flight at most with pipeline_transactions (2..kPipelineDepthMax).
  size_t pipeline_depth = 2;
};

inline constexpr size_t kPipelineDepthMax = 16;
// Bodies queued and not sent yet, over which no third transaction is pipelined: deep
// pipelining saves round trips on small messages; large ones are bound by the wire.
inline constexpr size_t kPipelineBacklogBytesMax = 256 * 1024;

class ClientSessionHandler {
 public:
  virtual ~ClientSessionHandler() = default;
  // The session can take StartTransaction() or Quit() (after EHLO/HELO, then after each
  // transaction, RSET included).
  virtual void OnReady() = 0;
  // The result of the oldest transaction in flight (begun by StartTransaction()).
  virtual void OnTransactionDone(const TransactionResult& result) = 0;
  // can_pipeline() turned true: StartTransaction() may queue the next transaction behind
  // the one in flight (or the handler lets it be: OnReady() follows that one's end).
  virtual void OnCanPipeline() {}
  // The connection is unusable: lost, timed out, refused (4xx/5xx greeting, EHLO/HELO
  // refused) or the server misbehaved. `reply` is the server's reply when one caused it,
  // else null. Called once; an in-flight transaction's OnTransactionDone() comes first.
  virtual void OnConnectionFailed(const absl::Status& status, const ServerReply* reply) = 0;
};

class SmtpClientSession {
 public:
  // `config`, `handler` and `counters` must outlive the session. The session starts by
  // waiting for the server's greeting.
  SmtpClientSession(const ClientConfig& config, ClientSessionHandler* handler,
                    ClientCounters* counters);
  // A resumed session (see the top of this file): ready at once with `capabilities`, the
  // server's greeting and EHLO reply already consumed by the session that parked it.
  SmtpClientSession(const ClientConfig& config, ClientSessionHandler* handler,
                    ClientCounters* counters, const ServerCapabilities& capabilities);
  SmtpClientSession(const SmtpClientSession&) = delete;
  SmtpClientSession& operator=(const SmtpClientSession&) = delete;

  // A resumed session's first callback: handler.OnReady(), once. FailedPrecondition,
  // calling nothing, for a session not constructed resumed, a second call, or one that is
  // no longer ready (failed, or the owner already started a transaction or quit).
  absl::Status Resume();

  // Received bytes, in any split. Ignored once wants_close().
  void Consume(absl::string_view bytes);
  // The server closed the connection or it broke.
  void OnDisconnected();
  // current_timeout() expired.
  void OnTimeout();

  // Begins a transaction; only when ready() or can_pipeline(). InvalidArgument for no or
  // too many recipients or an address that cannot be sent (control characters, too long);
  // FailedPrecondition when neither. Nothing is sent on error.
  absl::Status StartTransaction(const OutboundMessage& message);
  // Sends QUIT and waits for its reply (then wants_close()). When ready(), or before
  // ready() (then it just closes); FailedPrecondition during a transaction.
  absl::Status Quit();

  // Before the greeting arrives: whether to ask for STARTTLS.
  void set_starttls(StartTlsPolicy policy) { starttls_ = policy; }
  // STARTTLS was answered 220: start TLS once output() is flushed, then OnTlsStarted().
  bool wants_tls() const { return state_ == State::kTlsWanted; }
  void OnTlsStarted();
  // The owner's TLS handshake failed: the connection fails (4.7.5 / 4.7.10).
  void OnTlsFailed(absl::string_view why);
  // TLS is active on this connection (after OnTlsStarted(), or resumed with it).
  bool tls_active() const { return tls_active_; }
  // The enhanced status code the connection failed with (after OnConnectionFailed()):
  // 4.7.10 / 4.7.5 for TLS policy and handshake failures, 4.4.2 or 4.5.0 otherwise.
  const EnhancedCode& failure_enhanced() const { return failure_enhanced_; }
  void set_tls_active() { tls_active_ = true; }  // a resumed connection under TLS

  ClientOutput& output() { return output_; }
  bool ready() const { return state_ == State::kReady; }
  // A next transaction may be pipelined behind the one in flight now (see the top).
  bool can_pipeline() const;
  // No transaction is pipelined behind another from now on (a server known to refuse it).
  void DisableTransactionPipelining() { pipelining_refused_ = true; }
  // The server refused a pipelined MAIL with 503 (or DisableTransactionPipelining()).
  bool transaction_pipelining_refused() const { return pipelining_refused_; }
  // Transactions begun and not reported yet (0 to config.pipeline_depth).
  size_t transactions_in_flight() const;
  bool in_transaction() const;
  bool wants_close() const { return state_ == State::kClosed; }
  // With wants_close(): what is left in output() must not be sent; close at once.
  bool discard_output() const { return discard_output_; }
  // What the server offered (valid once ready()).
  const ServerCapabilities& capabilities() const { return capabilities_; }
  // The RFC 5321 §4.5.3.2 timeout of the current wait; InfiniteDuration when ready()
  // (idle connections are the pool's business) or closed.
  absl::Duration current_timeout() const;

 private:
  enum class State : uint8_t {
    kGreeting,   // waiting for 220
    kEhlo,       // EHLO sent
    kHelo,       // HELO sent after EHLO got 5xx
    kStartTls,   // STARTTLS sent
    kTlsWanted,  // 220 to STARTTLS received: the owner starts TLS
    kReady,      // between transactions
    kMail,       // waiting for the MAIL reply
    kRcpt,       // waiting for RCPT reply number current().rcpt_replies
    kData,       // waiting for the DATA reply
    kDataEnd,    // body and dot (or BDAT and its chunk) queued, waiting for the final reply
    kRset,       // RSET sent after a failed transaction
    kQuit,       // QUIT sent
    kClosed,     // nothing more: wants_close()
  };
  void OnReply(const ServerReply& reply);
  void OnGreeting(const ServerReply& reply);
  void OnEhloReply(const ServerReply& reply);
  void OnHeloReply(const ServerReply& reply);
  void OnStartTlsReply(const ServerReply& reply);
  void OnMailReply(const ServerReply& reply);
  void OnRcptReply(const ServerReply& reply);
  void OnDataReply(const ServerReply& reply);
  void OnDataEndReply(const ServerReply& reply);
  void OnRsetReply(const ServerReply& reply);

  // Transactions.
  // The i-th transaction in flight, oldest first; Slot(0) when none is in flight: the one
  // the next StartTransaction() fills.
  ClientTransaction& Slot(size_t i) { return *ring_[(head_ + i) % ring_.size()]; }
  const ClientTransaction& Slot(size_t i) const { return *ring_[(head_ + i) % ring_.size()]; }
  ClientTransaction& current() { return Slot(0); }
  const ClientTransaction& current() const { return Slot(0); }
  // A slot behind the transactions in flight (the ring grows up to the depth).
  ClientTransaction& AddBehind();
  // The oldest transaction leaves the ring; the reference stays valid until the next
  // StartTransaction().
  ClientTransaction& PopCurrent();
  void StartNext(const OutboundMessage& message);
  // The local refusal (SIZE, SMTPUTF8) of `message`, decided in `t`: true when refused.
  bool RefuseLocally(const OutboundMessage& message, ClientTransaction& t);
  // Queues `t`'s pipelined batch (and its chunk with BDAT).
  void SendBatch(ClientTransaction& t);
  void SendBody(ClientTransaction& t);
  void SendChunk(ClientTransaction& t);
  void FinishTransaction(bool needs_rset);
  // `last` (popped) ended and nothing is behind it: RSET or ready, after its report.
  void EndOfPipeline(bool needs_rset, ClientTransaction& last);
  // The next transaction becomes the current one, after the current one was reported.
  void AdvanceToNext(bool previous_open);
  void ReportTransaction(ClientTransaction& t, bool connection_failed);
  // can_pipeline() may have turned true: tell the handler (once per transaction).
  void OfferPipelining();

  // Connection.
  void BecomeReady();
  void BecomeReadyAfterRset();
  void NotifyReady();
  void ProtocolError(absl::string_view what, const ServerReply* reply);
  void Fail(const absl::Status& status, const ServerReply* reply, const EnhancedCode& enhanced,
            bool send_quit);
  absl::string_view WaitingFor() const;

  const ClientConfig& config_;
  ClientSessionHandler* const handler_;
  ClientCounters* const counters_;

  StartTlsPolicy starttls_ = StartTlsPolicy::kNever;
  EnhancedCode failure_enhanced_;
  bool tls_active_ = false;
  State state_ = State::kGreeting;
  bool discard_output_ = false;
  ReplyParser parser_;
  ClientOutput output_;
  ServerCapabilities capabilities_;
  bool resumable_ = false;        // constructed resumed, Resume() not called yet
  bool notifying_ready_ = false;  // inside handler_->OnReady()
  bool ready_again_ = false;      // became ready again while notifying
  bool reporting_ = false;        // inside handler_->OnTransactionDone()

  // The transactions in flight, a ring from head_: current() awaits its replies, the
  // others were pipelined behind it, in order.
  std::vector<std::unique_ptr<ClientTransaction>> ring_;
  size_t head_ = 0;
  size_t count_ = 0;
  bool pipelining_refused_ = false;  // the server answered a pipelined MAIL 503
  bool pipelining_offered_ = false;  // OnCanPipeline() said for the newest transaction
  std::vector<RecipientResult> results_;
};

}  // namespace tern::net::smtp
