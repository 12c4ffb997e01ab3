// HttpResponseParser: reads one HTTP/1.1 response from the webhook receiver, incrementally
// (bytes may arrive split anywhere): status line, header fields, and a body framed by
// Content-Length, chunked transfer coding, or the connection's close (RFC 9112 §6.3).
// Interim 1xx responses are skipped. The receiver is remote input: every line, the header
// block, the header count and the body have a limit, and going beyond one is an error (the
// sender then closes the connection). Only the first kBodyKeptBytesMax bytes of the body are
// kept (for the log); the rest is read and discarded up to kBodyBytesMax.
//
//   HttpResponseParser parser;
//   while (parser.Feed(received) == HttpResponseParser::Result::kNeedMore) received = Recv();
//   // at end of stream instead: parser.FinishAtClose()
//   if (parser.status_code() / 100 == 2 && parser.keep_alive()) ... reuse the connection
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace tern::events {

class HttpResponseParser {
 public:
  static constexpr size_t kLineBytesMax = 8192;
  static constexpr size_t kHeaderBytesMax = 64 << 10;
  static constexpr size_t kHeaderFieldsMax = 100;
  static constexpr size_t kBodyBytesMax = 1 << 20;
  static constexpr size_t kBodyKeptBytesMax = 512;
  static constexpr int kInterimResponsesMax = 8;

  enum class Result { kNeedMore, kDone, kError };

  // Consumes bytes. kDone: the response is complete (bytes after it are not consumed:
  // consumed() says how many were); kError: error() says why; both are final until Reset().
  Result Feed(absl::string_view bytes);
  // The peer closed the connection: completes a body read until close, else an error.
  Result FinishAtClose();
  void Reset() { *this = HttpResponseParser(); }

  int status_code() const { return status_code_; }
  // The connection may carry another request after this response.
  bool keep_alive() const { return keep_alive_; }
  const std::string& body() const { return body_; }  // the first kBodyKeptBytesMax bytes
  uint64_t body_bytes() const { return body_bytes_; }
  size_t consumed() const { return consumed_; }
  const std::string& error() const { return error_; }

 private:
  enum class State {
    kStatusLine,
    kHeaderLine,
    kBodyLength,
    kBodyUntilClose,
    kChunkSize,
    kChunkData,
    kChunkDataEnd,  // the CRLF after a chunk's data
    kTrailerLine,
    kDone,
    kError,
  };
  Result Fail(std::string why);
  // Takes one line (without CRLF or LF) into line_ from `bytes` at *at; false: need more.
  bool TakeLine(absl::string_view bytes, size_t* at, bool* too_long);
  bool OnStatusLine(absl::string_view line);
  bool OnHeaderLine(absl::string_view line);
  bool OnHeadersDone();
  bool OnChunkSizeLine(absl::string_view line);
  void TakeBody(absl::string_view bytes);

  State state_ = State::kStatusLine;
  std::string line_;  // a line in progress across Feed calls
  size_t header_bytes_ = 0;
  size_t header_fields_ = 0;
  int interim_responses_ = 0;
  int status_code_ = 0;
  bool http10_ = false;
  bool keep_alive_ = true;
  bool saw_content_length_ = false;
  uint64_t content_length_ = 0;
  bool chunked_ = false;
  bool close_ = false;
  uint64_t remaining_ = 0;  // of the body or of the current chunk
  std::string body_;
  uint64_t body_bytes_ = 0;
  size_t consumed_ = 0;
  std::string error_;
};

}  // namespace tern::events
