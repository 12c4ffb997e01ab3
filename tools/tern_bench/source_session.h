// SourceSession: the client side of one tern-bench source connection, as pure protocol
// logic (no sockets): greeting, EHLO (HELO if refused), then messages, then QUIT. It
// parses the server's replies, appends what to send to output(), and records every phase's
// latency and every message's result in a SourceStats. Times are passed in (nanoseconds
// of one monotonic clock), so tests can drive it.
//
//   SourceSession session(config, &stats);
//   session.OnConnected(now);                        // then waits for the greeting
//   on receive(bytes):  session.Consume(bytes, now);
//   when not sending and !session.output().empty(): take the output (swap it out), send
//                       it, and call session.OnOutputTaken(now)
//   when session.ready(): session.StartMessage(message, now); when session.idle() and
//                       there is nothing more to send: session.Quit()
//   when session.closed(): close the connection (after flushing output: a QUIT)
//   on connection loss:  session.OnDisconnected()    (a message in flight fails)
//
// With config.starttls and a server offering STARTTLS, the EHLO is followed by STARTTLS; at
// its 220 wants_tls() turns true, the owner starts TLS on the connection once the output
// is flushed and calls OnTlsStarted(), and the session says EHLO again (RFC 3207 §4.2)
// before any message. A refused STARTTLS, or a reply pipelined behind the 220, fails it.
//
// A message: MAIL FROM, one RCPT TO per recipient, then DATA + the dot-stuffed message +
// "." (or, with --chunking and a server offering CHUNKING, "BDAT <n> LAST" + the message
// as is). With PIPELINING offered and --pipelining, MAIL, the RCPTs and DATA (or BDAT with
// its chunk) go out as one batch (RFC 2920); without, one command per round trip. A message
// is delivered when its end-of-data reply is 2xx; any 4xx/5xx fails it (the stage is
// counted), a refused recipient is counted, and RSET follows a transaction that failed
// before its end of data.
//
// With PIPELINING, the next message may begin as soon as the previous one's end of data
// is queued (ready() turns true again): RFC 2920 §3.1 lets the message content start a
// group, so the dot and the next MAIL, RCPTs and DATA travel together and the server
// answers 250 for the first message with the next envelope's replies: one round trip per
// message instead of two. At most two messages are in flight on a connection.
// (config.overlap_messages = false waits for each message's final reply instead: some
// servers, Haraka 3 among them, answer such a MAIL 503.)
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>

#include "absl/strings/string_view.h"
#include "net/smtp/client_capabilities.h"
#include "net/smtp/client_reply_parser.h"
#include "tools/tern_bench/bench_message.h"
#include "tools/tern_bench/source_stats.h"

namespace tern::tools::tern_bench {

struct SourceSessionConfig {
  std::string helo = "tern-bench.test";
  bool pipelining = true;  // batch the envelope when the server offers PIPELINING
  bool chunking = false;   // BDAT instead of DATA when the server offers CHUNKING
  bool starttls = false;   // STARTTLS when the server offers it
  // With PIPELINING: the next message's envelope may follow the previous end of data.
  bool overlap_messages = true;
};

// Views, needed until the message's end of data was queued (then the session holds a copy
// in its output and the caller may build the next message into the same buffers).
struct OutgoingMessage {
  absl::string_view sender;
  std::span<const std::string> recipients;
  const GeneratedMessage* message = nullptr;  // content (BDAT) or data_wire (DATA) is sent
  int64_t start_ns = 0;                       // when the message was due (open loop) or now
};

class SourceSession {
 public:
  SourceSession(const SourceSessionConfig& config, SourceStats* stats);

  void OnConnected(int64_t now_ns);
  void Consume(absl::string_view bytes, int64_t now_ns);
  void OnDisconnected();
  // The reply wait of waiting_for_reply() timed out: as a lost connection.
  void OnTimeout() { OnDisconnected(); }

  // A message may start: after greeting and EHLO, after each message (and its RSET), and
  // with PIPELINING as soon as the message in flight has sent its end of data.
  bool ready() const;
  // No message in flight.
  bool idle() const { return state_ == State::kOpen && transactions_.empty() && !awaiting_rset_; }
  void StartMessage(const OutgoingMessage& message, int64_t now_ns);
  // Sends QUIT when idle(); closes at once before the greeting was answered.
  void Quit();
  // Nothing more to do: close once the output is flushed.
  bool closed() const { return state_ == State::kClosed; }
  // The session ended in an error (greeting refused, connection lost, bad reply).
  bool failed() const { return failed_; }
  // A reply is awaited (the owner arms its reply timeout).
  bool waiting_for_reply() const {
    return (state_ != State::kOpen && state_ != State::kClosed) || !idle();
  }

  // STARTTLS was answered 220: start TLS once output() is flushed, then OnTlsStarted().
  bool wants_tls() const { return state_ == State::kTlsWanted; }
  void OnTlsStarted(int64_t now_ns);
  // The TLS handshake completed (timed from STARTTLS).
  void OnTlsEstablished(int64_t now_ns);
  bool tls_active() const { return tls_active_; }

  std::string& output() { return output_; }
  // The owner handed what output() held to the socket at `now_ns` (the end of data is
  // timed from here).
  void OnOutputTaken(int64_t now_ns);

  const net::smtp::ServerCapabilities& capabilities() const { return capabilities_; }
  uint64_t messages_started() const { return messages_started_; }

 private:
  enum class State : uint8_t {
    kConnecting,
    kGreeting,
    kEhlo,
    kHelo,
    kStartTls,   // STARTTLS sent
    kTlsWanted,  // 220 received; the owner starts TLS
    kOpen,
    kQuit,
    kClosed
  };
  // The reply each command sent waits for, in order.
  enum class Expect : uint8_t { kMail, kRcpt, kData, kBody, kRset };
  struct Transaction {
    OutgoingMessage message;
    bool pipelined = false;
    bool chunked = false;
    size_t next_rcpt = 0;  // unpipelined: the next RCPT to send
    size_t rcpts_accepted = 0;
    bool mail_accepted = false;
    bool failed = false;
    FailStage fail_stage = FailStage::kMail;
    bool body_queued = false;  // its end of data is in output_, not yet taken
    bool end_replied = false;  // its end-of-data reply came
    int64_t mail_sent_ns = 0;
    int64_t data_sent_ns = 0;  // when its end of data was taken; 0 before
    std::deque<Expect> expected;
    uint64_t bytes = 0;  // the message's size (SIZE=, counted when delivered)
  };

  void OnReply(const net::smtp::ServerReply& reply, int64_t now_ns);
  void OnTransactionReply(Transaction& t, Expect expect, const net::smtp::ServerReply& reply,
                          int64_t now_ns);
  void SendNextUnpipelined(Transaction& t);
  void QueueChunk(Transaction& t);
  void QueueDataCommand(Transaction& t);
  void EndTransaction(int64_t now_ns);
  void Fail();

  const SourceSessionConfig& config_;
  SourceStats* const stats_;
  State state_ = State::kConnecting;
  bool failed_ = false;
  net::smtp::ReplyParser parser_;
  net::smtp::ServerCapabilities capabilities_;
  std::string output_;
  int64_t connected_ns_ = 0;
  int64_t ehlo_sent_ns_ = 0;
  int64_t starttls_sent_ns_ = 0;
  bool tls_active_ = false;
  std::deque<Transaction> transactions_;  // in flight, oldest first; at most two
  bool awaiting_rset_ = false;            // RSET sent after a failed transaction
  uint64_t messages_started_ = 0;
};

}  // namespace tern::tools::tern_bench
