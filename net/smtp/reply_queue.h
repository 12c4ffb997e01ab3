// ReplyQueue: a session's output, in command order. A reply is either text appended now or
// a pending slot (a message waiting for the fdatasync that makes it durable) filled later.
// Only the bytes before the first unfilled slot may be sent, so pipelined replies never
// overtake the 250 of an earlier message.
//
//   ReplyQueue out;
//   out.Append("250 2.1.0 Ok\r\n");
//   ReplyQueue::SlotId slot = out.AppendPending();
//   out.Append("250 2.1.0 Ok\r\n");      // held back behind the slot
//   send(out.Sendable());                // "250 2.1.0 Ok\r\n"
//   out.Consume(14);
//   out.Fill(slot, "250 2.0.0 Ok: queued as 0123456789ABCDEF\r\n");
//   send(out.Sendable());                // both remaining replies
//
// All bytes live in one std::string; a slot is a position in it, and Fill inserts there.
// Appending costs no allocation once the buffer has grown; there is no per-reply object.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace tern::net::smtp {

class ReplyQueue {
 public:
  using SlotId = uint64_t;

  ReplyQueue() = default;
  ReplyQueue(const ReplyQueue&) = delete;
  ReplyQueue& operator=(const ReplyQueue&) = delete;

  // Appends a complete reply (with its CRLF) after everything queued so far.
  void Append(absl::string_view text);
  // Reserves the place of a reply that will be known later.
  SlotId AppendPending();
  // Puts `text` in `slot`'s place. Each slot must be filled exactly once.
  void Fill(SlotId slot, absl::string_view text);

  // The bytes that may be sent now: everything queued up to the first unfilled slot.
  absl::string_view Sendable() const;
  // Drops the first n sendable bytes (they were sent). n <= Sendable().size().
  void Consume(size_t n);

  // Bytes queued and not yet consumed, sendable or held back behind a slot.
  size_t pending_bytes() const { return buffer_.size() - head_; }
  // Slots not yet filled.
  size_t pending_slots() const { return slots_.size(); }
  bool empty() const { return pending_bytes() == 0 && slots_.empty(); }

 private:
  struct Slot {
    SlotId id;
    size_t position;  // offset in buffer_ where its text goes
  };
  void Compact();

  std::string buffer_;
  size_t head_ = 0;          // bytes before head_ were sent
  std::vector<Slot> slots_;  // unfilled, in queue order (ids and positions increase)
  SlotId next_slot_id_ = 1;
};

}  // namespace tern::net::smtp
