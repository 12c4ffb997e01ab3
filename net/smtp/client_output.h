// ClientOutput: what the outbound SMTP client has to send, in order, as a list of byte
// ranges. Command text is copied into the queue (it is small); a message body is queued by
// reference (AppendExternal) and never copied, so the owner can hand the stored bytes to
// sendmsg/io_uring as they are.
//
//   ClientOutput out;
//   out.Append("DATA\r\n");
//   out.AppendExternal(body);              // body must stay valid until it was sent
//   out.Append(".\r\n");
//   absl::string_view pieces[8];
//   size_t n = out.Peek(pieces);           // up to 8 ranges, in order, for writev/sendmsg
//   ... send them ..., then out.Consume(bytes_sent);
//
// Bounds: the owner drains the queue; the session that fills it queues at most one
// transaction's commands and one body at a time, so it stays small.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace tern::net::smtp {

class ClientOutput {
 public:
  ClientOutput() = default;
  ClientOutput(const ClientOutput&) = delete;
  ClientOutput& operator=(const ClientOutput&) = delete;

  // Copies `text` to the end of the queue.
  void Append(absl::string_view text);
  // Queues `bytes` by reference: they must stay valid and unchanged until consumed.
  void AppendExternal(absl::string_view bytes);

  // A pending range, and whether it is caller-owned bytes (AppendExternal), which stay put.
  // Otherwise it points into the queue's own storage, which a later Append() may move.
  struct Range {
    absl::string_view bytes;
    bool external = false;
  };
  // Fills `out` with the first pending ranges, in order; returns how many (0: empty).
  size_t Peek(std::span<absl::string_view> out) const;
  size_t Peek(std::span<Range> out) const;
  // The first pending range (empty when nothing is pending).
  absl::string_view Front() const;
  // Whether the first pending range is caller-owned bytes (AppendExternal), which stay put.
  // Otherwise it points into the queue's own storage, which a later Append() may move: a
  // sender that keeps appending while a send is in flight must send a copy of it.
  bool FrontIsExternal() const;
  // Drops the first n pending bytes (they were sent). n <= pending_bytes().
  void Consume(size_t n);
  // Drops everything pending (the connection is gone).
  void Clear();

  size_t pending_bytes() const { return pending_bytes_; }
  bool empty() const { return pending_bytes_ == 0; }
  // Bytes of external ranges still pending (the body is being sent).
  size_t pending_external_bytes() const { return pending_external_bytes_; }

 private:
  struct Piece {
    const char* external;  // null: owned_[offset, offset + size)
    size_t offset;
    size_t size;
  };
  absl::string_view View(const Piece& piece) const;

  std::string owned_;
  std::vector<Piece> pieces_;
  size_t head_ = 0;  // pieces before head_ were sent
  size_t pending_bytes_ = 0;
  size_t pending_external_bytes_ = 0;
};

}  // namespace tern::net::smtp
