// Implementation of spool/attempt_history.h.
#include "spool/attempt_history.h"

namespace tern::spool {

AttemptNote AttemptNote::From(const RecipientResult& result, int64_t at_unix_us) {
  AttemptNote note;
  note.at_unix_us = at_unix_us;
  note.recipient = result.recipient;
  note.attempt = result.attempts;
  note.state = result.state;
  note.reply_code = result.reply_code;
  note.enhanced_code = std::string(result.enhanced_code);
  note.reply_text = std::string(result.reply_text.substr(0, kReplyTextKept));
  note.destination_host = std::string(result.destination_host);
  return note;
}

void AttemptHistory::Add(uint64_t queue_id, AttemptNote note) {
  std::deque<AttemptNote>& notes = notes_[queue_id];
  if (notes.size() == kNotesPerMessage) notes.pop_front();
  notes.push_back(std::move(note));
}

const std::deque<AttemptNote>& AttemptHistory::Of(uint64_t queue_id) const {
  static const std::deque<AttemptNote> kNone;
  auto it = notes_.find(queue_id);
  return it == notes_.end() ? kNone : it->second;
}

}  // namespace tern::spool
