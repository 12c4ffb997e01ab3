// SinkSession: the server side of one `tern-bench sink` connection, as pure protocol logic
// (no sockets, no clock of its own). It parses what the client sent, verifies each message
// as it streams by (MessageVerifier, bench_message.h), reports it to an observer, and queues
// the replies, some of them failed, dropped or held back as the FaultPlan says. The
// connection glue that owns it moves the bytes and keeps the time.
//
//   SinkProfile profile(config);                      // once per process
//   SinkSession session(profile, seed, &counters, &observer);
//   session.Start(now);                               // queues the 220 greeting
//   on receive(bytes):  session.Consume(bytes, now);
//   whenever output().Sendable() is not empty: send it, then output().Consume(sent)
//   at next_release(): session.ReleaseDue(now)        // held (--delay) replies
//   close at once if output_overflowed(); else once wants_close() and output().empty()
//
// Input may be split anywhere: the same bytes in one call, byte by byte or at any split give
// the same replies and the same messages. Command lines are views into the caller's bytes;
// only a line split across Consume() calls is copied (at most kCommandLineBytesMax). The
// body is never stored: DATA is unstuffed on the fly, BDAT chunks are taken as they are, and
// both go straight into the verifier. The framing is the server's (net/smtp/): command lines
// (CommandLineReader), the end of DATA (DataBodyReader) and BDAT chunks (BdatChunk).
//
// Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT; others get 502 5.5.1, commands out
// of sequence 503 5.5.1. EHLO offers PIPELINING, SIZE, 8BITMIME, SMTPUTF8,
// ENHANCEDSTATUSCODES and CHUNKING. Every reply but the greeting and the EHLO/HELO answer
// carries an RFC 3463 enhanced status code. Addresses are taken as sent, not validated.
//
// Faults (sink_faults.h) apply to the reply a command would have had when it is accepted:
// tempfail and permfail replace it (at connect: 421 / 554 and close), disconnect closes
// instead of replying (after every earlier reply is out), and a delay holds the reply in a
// ReplyQueue slot, so that the replies behind it wait in order.
//
// Bounds (what happens at the limit):
//   - command line kCommandLineBytesMax with its CRLF: the rest of the line is skipped and
//     answered 500 5.5.2, staying in sync.
//   - recipients config.max_recipients per message: the extras get 452 4.5.3.
//   - envelope kept for the record: at most (max_recipients + 1) command lines.
//   - message size config.max_message_size (0: none): read to the end, then 552 5.3.4.
//   - queued output kOutputBytesMax, held replies kHeldRepliesMax (a client that sends but
//     never reads): output_overflowed(), the owner closes at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "net/smtp/bdat_chunk.h"
#include "net/smtp/body_reader.h"
#include "net/smtp/command_line_reader.h"
#include "net/smtp/reply_queue.h"
#include "tools/tern_bench/bench_message.h"
#include "tools/tern_bench/sink_counters.h"
#include "tools/tern_bench/sink_faults.h"

namespace tern::tools::tern_bench {

using net::smtp::kCommandLineBytesMax;
inline constexpr size_t kOutputBytesMax = size_t{1} << 20;
inline constexpr size_t kHeldRepliesMax = 16384;

struct SinkConfig {
  std::string hostname = "tern-bench-sink";  // greeting and EHLO; no spaces or CR/LF
  uint64_t max_message_size = 0;             // bytes of unstuffed content; 0 = unlimited
  size_t max_recipients = 10000;
  bool keep_envelope = false;         // give the observer sender and recipients (--record)
  const FaultPlan* faults = nullptr;  // null: no faults; must outlive the sessions
};

// The configuration and the reply texts built from it once, shared by all sessions.
class SinkProfile {
 public:
  explicit SinkProfile(SinkConfig config);
  const SinkConfig& config() const { return config_; }

  std::string greeting;          // 220 ...
  std::string ehlo;              // the whole multi-line 250
  std::string helo;              // 250 hostname
  std::string connect_tempfail;  // 421 4.3.2 ...
  std::string connect_permfail;  // 554 5.3.2 ...
  std::string timeout;           // 421 4.4.2 ...
  std::string shutdown;          // 421 4.3.2 ...

 private:
  SinkConfig config_;
};

// One message that reached its end of data (final dot or BDAT LAST). Views valid only
// during the observer call.
struct MessageOutcome {
  absl::string_view sender;                   // empty unless keep_envelope (and for "<>")
  std::vector<absl::string_view> recipients;  // empty unless keep_envelope
  size_t recipient_count = 0;
  uint64_t content_bytes = 0;  // unstuffed, as fed to the verifier
  VerifyResult verify;
  bool bdat = false;
  int reply = 0;  // the code answered at end of data; 0: disconnected instead
};

class SinkMessageObserver {
 public:
  virtual ~SinkMessageObserver() = default;
  virtual void OnMessage(const MessageOutcome& outcome) = 0;
};

class SinkSession {
 public:
  // `profile`, `counters` and `observer` must outlive the session; `fault_seed` seeds this
  // session's FaultInjector.
  SinkSession(const SinkProfile& profile, uint64_t fault_seed, SinkCounters* counters,
              SinkMessageObserver* observer);
  SinkSession(const SinkSession&) = delete;
  SinkSession& operator=(const SinkSession&) = delete;

  // Queues the greeting (or the connect fault). Call once, before Consume().
  void Start(absl::Time now);
  // Processes received bytes, in any split. Bytes after QUIT, a disconnect fault or a fatal
  // error are ignored.
  void Consume(absl::string_view bytes, absl::Time now);
  // Fills every held reply whose time has come.
  void ReleaseDue(absl::Time now);
  // When the next held reply is due; InfiniteFuture when none is held.
  absl::Time next_release() const;
  // The idle timeout expired: 421 4.4.2 and close.
  void OnTimeout();
  // The sink is stopping: held replies go out now, then 421 4.3.2, and close.
  void OnShutdown();

  net::smtp::ReplyQueue& output() { return output_; }
  // The owner closes the connection once the output is empty (everything sent).
  bool wants_close() const { return state_ == State::kClosing; }
  // The client does not read its replies: close now, without flushing.
  bool output_overflowed() const { return output_overflowed_; }

 private:
  enum class State : uint8_t {
    kNew,      // before Start()
    kGreeted,  // no EHLO/HELO yet
    kReady,    // no transaction
    kMail,     // MAIL accepted, no recipient yet
    kRcpt,     // at least one recipient
    kData,     // reading a DATA body
    kBdat,     // BDAT chunks of the transaction being received
    kClosing,  // QUIT, disconnect, timeout, shutdown or fatal error: input is ignored
  };
  enum class InputMode : uint8_t {
    kCommand,    // command lines
    kDataBody,   // DATA body up to "\r\n.\r\n"
    kChunkBody,  // BDAT chunk bytes, chunk_.remaining() left; taken or discarded
    kIgnore,     // after kClosing
  };
  struct Span {
    uint32_t offset = 0;
    uint32_t size = 0;
  };
  struct HeldReply {
    net::smtp::ReplyQueue::SlotId slot;
    absl::Time due;
    std::string text;
  };

  // Input framing.
  size_t ConsumeCommandBytes(absl::string_view in);
  size_t ConsumeDataBytes(absl::string_view in);
  size_t ConsumeChunkBytes(absl::string_view in);

  // Commands.
  void DispatchCommand(absl::string_view line);
  void OnEhlo(absl::string_view arg, bool extended);
  void OnMail(absl::string_view arg);
  void OnRcpt(absl::string_view arg);
  void OnData(absl::string_view arg);
  void OnBdat(absl::string_view arg);
  void OnQuit();

  // Messages.
  void BeginMessage();
  void FinishChunk();
  void EndMessage(bool bdat);
  void ResetTransaction();

  // Output. Answer() applies the stage's faults to `reply` and returns what was done.
  FaultAction Answer(FaultStage stage, absl::string_view reply);
  void Emit(absl::string_view reply, absl::Duration delay);
  void Reply(absl::string_view reply);
  void Close();

  Span KeepString(absl::string_view text);
  absl::string_view KeptString(Span span) const {
    return absl::string_view(envelope_).substr(span.offset, span.size);
  }

  const SinkProfile& profile_;
  const SinkConfig& config_;
  FaultInjector faults_;
  SinkCounters* const counters_;
  SinkMessageObserver* const observer_;

  State state_ = State::kNew;
  InputMode mode_ = InputMode::kCommand;
  absl::Time now_ = absl::InfinitePast();  // of the Consume() call in progress
  net::smtp::ReplyQueue output_;
  std::vector<HeldReply> held_;  // in queue order (due times need not be)
  bool output_overflowed_ = false;
  net::smtp::CommandLineReader lines_;

  // The transaction.
  std::string envelope_;  // sender and recipients when keep_envelope
  Span sender_;
  std::vector<Span> recipients_;
  size_t recipient_count_ = 0;
  net::smtp::DataBodyReader data_reader_;
  uint64_t data_content_bytes_ = 0;  // unstuffed DATA content so far
  MessageVerifier verifier_;
  uint64_t chunk_bytes_ = 0;    // all BDAT chunks of the message so far
  net::smtp::BdatChunk chunk_;  // the chunk being read
  bool chunk_discard_ = false;  // answered already (out of sequence): drop the bytes
  MessageOutcome outcome_;      // reused: its vector keeps its capacity
};

}  // namespace tern::tools::tern_bench
