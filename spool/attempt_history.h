// AttemptHistory: the last delivery results of each queued message, for `ternctl show`
// (every attempt with the reply it got). Filled from the state records as they are written
// and by recovery as it folds them (recovered notes carry no time: the record format has
// none, the delivery log has it). At most kNotesPerMessage notes per message, the oldest
// dropped first; a message's notes go when it leaves the queue. Messages never tried cost
// nothing here.
//
//   history.Add(queue_id, AttemptNote::From(result, now_us));
//   for (const AttemptNote& note : history.Of(queue_id)) Print(note);
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "spool/message_record.h"
#include "spool/state_record.h"

namespace tern::spool {

struct AttemptNote {
  int64_t at_unix_us = 0;  // 0: recovered from the spool, time unknown
  uint32_t recipient = 0;
  uint32_t attempt = 0;
  RecipientState state = RecipientState::kDeferred;
  uint16_t reply_code = 0;
  std::string enhanced_code;
  std::string reply_text;  // at most kReplyTextKept bytes
  std::string destination_host;

  static constexpr size_t kReplyTextKept = 200;
  static AttemptNote From(const RecipientResult& result, int64_t at_unix_us);
};

class AttemptHistory {
 public:
  static constexpr size_t kNotesPerMessage = 16;

  void Add(uint64_t queue_id, AttemptNote note);
  // Oldest first; empty when the message has none.
  const std::deque<AttemptNote>& Of(uint64_t queue_id) const;
  void Erase(uint64_t queue_id) { notes_.erase(queue_id); }
  size_t messages() const { return notes_.size(); }

 private:
  absl::flat_hash_map<uint64_t, std::deque<AttemptNote>> notes_;
};

}  // namespace tern::spool
