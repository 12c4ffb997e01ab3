// The messages tern-bench sends and how a sink checks them.
//
// Every generated message has a unique Message-ID and an X-Tern-Bench-Checksum header
// holding the BodyChecksum (checksum.h) of its body: the bytes after the blank line that
// ends the header section, unstuffed, CRLF line endings, as the recipient would read them.
// A relay may add header fields (Received:) but must not touch the body, so a sink behind
// any number of relays can verify it:
//
//   Message-ID: <RUN.T.SEQ@tern-bench>
//   From: <sender>
//   To: <first recipient>
//   Subject: tern-bench RUN.T.SEQ
//   X-Tern-Bench-Checksum: 0123456789abcdef
//   <blank line>
//   tern-bench message RUN.T.SEQ
//   printable filler lines (78 characters + CRLF; every 16th starts with '.', so that
//   dot-stuffing is exercised) up to the requested size
//
// MessageFactory builds them fast: the filler is generated once per factory, each message
// copies a prefix of it behind its own headers and first line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "tools/tern_bench/checksum.h"

namespace tern::tools::tern_bench {

inline constexpr absl::string_view kChecksumHeader = "X-Tern-Bench-Checksum";

struct GeneratedMessage {
  std::string message_id;  // without the angle brackets
  uint64_t checksum = 0;
  size_t size = 0;        // of the content, whichever forms were built
  std::string content;    // unstuffed, CRLF: what BDAT sends
  std::string data_wire;  // dot-stuffed content followed by ".\r\n": what follows DATA's 354
};

class MessageFactory {
 public:
  // `run_id` distinguishes runs; `stream` the thread or connection set that numbers its own
  // messages. Messages are at least as long as their headers, else `size` bytes (±1).
  MessageFactory(std::string run_id, uint32_t stream, size_t max_size);

  // Fills `out` (reusing its buffers) with message number `sequence` of this stream.
  // `want_content` / `want_data_wire` choose which forms are built.
  void Build(uint64_t sequence, size_t size, absl::string_view sender,
             absl::string_view first_recipient, bool want_content, bool want_data_wire,
             GeneratedMessage* out) const;

 private:
  std::string run_id_;
  uint32_t stream_;
  std::string filler_;          // unstuffed lines
  std::string stuffed_filler_;  // the same lines, stuffed
  // line_ends_[i]: where line i+1 starts in filler_ / stuffed_filler_.
  std::vector<uint32_t> line_ends_;
  std::vector<uint32_t> stuffed_line_ends_;
};

// What a sink learned from one message.
struct VerifyResult {
  std::string message_id;  // without angle brackets; empty when absent
  bool has_checksum = false;
  uint64_t expected = 0;  // the header's value
  uint64_t computed = 0;  // over the body received
  uint64_t body_bytes = 0;
  bool headers_complete = false;  // the blank line ending the header section was seen
  // The message carried a checksum header and its body matched it.
  bool verified() const { return headers_complete && has_checksum && expected == computed; }
};

// Reads one message's unstuffed content in any split: the header section (bounded: past
// kHeaderBytesMax the rest counts as body and the message cannot verify), then the body
// into a BodyChecksum.
class MessageVerifier {
 public:
  static constexpr size_t kHeaderBytesMax = 64 * 1024;
  void Reset();
  void Update(absl::string_view content);
  VerifyResult Finish();

 private:
  void ParseHeaders();

  bool in_body_ = false;
  bool overflowed_ = false;
  std::string headers_;
  BodyChecksum checksum_;
  VerifyResult result_;
};

}  // namespace tern::tools::tern_bench
