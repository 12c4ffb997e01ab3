// Implementation of spool/attempt_history.h.
#include "spool/attempt_history.h"

#include <iterator>

#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "core/utf8.h"

namespace tern::spool {

AttemptNote AttemptNote::From(const RecipientResult& result, int64_t at_unix_us) {
  AttemptNote note;
  note.at_unix_us = at_unix_us;
  note.recipient = result.recipient;
  note.attempt = result.attempts;
  note.state = result.state;
  note.reply_code = result.reply_code;
  note.enhanced_code = std::string(result.enhanced_code);
  note.reply_text = std::string(core::Utf8Prefix(result.reply_text, kReplyTextKept));
  note.destination_host = std::string(result.destination_host);
  return note;
}

uint32_t AttemptHistory::Intern(const AttemptNote& note) {
  const absl::string_view text = core::Utf8Prefix(note.reply_text, AttemptNote::kReplyTextKept);
  // The sizes first: remote replies are untrusted bytes, no separator is safe.
  const std::string prefix = absl::StrCat(note.enhanced_code.size(), ":", text.size(), ":");
  std::string key = absl::StrCat(prefix, note.enhanced_code, text, note.destination_host);
  auto [it, fresh] = reply_ids_.try_emplace(key, 0);
  if (fresh) {
    if (free_replies_.empty()) {
      it->second = static_cast<uint32_t>(replies_.size());
      replies_.emplace_back();
    } else {
      it->second = free_replies_.back();
      free_replies_.pop_back();
    }
    Reply& reply = replies_[it->second];
    reply.key = std::move(key);
    reply.enhanced_at = prefix.size();
    reply.text_at = reply.enhanced_at + note.enhanced_code.size();
    reply.host_at = reply.text_at + text.size();
  }
  ++replies_[it->second].refs;
  return it->second;
}

void AttemptHistory::Release(uint32_t reply) {
  CHECK_LT(reply, replies_.size());
  Reply& r = replies_[reply];
  CHECK_GT(r.refs, 0u);
  if (--r.refs > 0) return;
  reply_ids_.erase(r.key);
  r.key = std::string();
  free_replies_.push_back(reply);
}

void AttemptHistory::Add(uint64_t queue_id, const AttemptNote& note) {
  auto [first, end] = notes_.equal_range(queue_id);
  const size_t held = static_cast<size_t>(std::distance(first, end));
  DCHECK(held <= kNotesPerMessage);
  if (held == 0) ++messages_;
  if (held == kNotesPerMessage) {
    Release(first->second.reply);
    notes_.erase(first);
  }
  // After the message's other notes (a multimap inserts at the end of the equal range).
  notes_.insert({queue_id,
                 {.at_unix_us = note.at_unix_us,
                  .recipient = note.recipient,
                  .attempt = note.attempt,
                  .reply = Intern(note),
                  .reply_code = note.reply_code,
                  .state = note.state}});
}

std::vector<AttemptNote> AttemptHistory::Of(uint64_t queue_id) const {
  std::vector<AttemptNote> out;
  auto [it, end] = notes_.equal_range(queue_id);
  for (; it != end; ++it) {
    const Note& n = it->second;
    const Reply& r = replies_[n.reply];
    const absl::string_view key = r.key;
    out.push_back(
        {.at_unix_us = n.at_unix_us,
         .recipient = n.recipient,
         .attempt = n.attempt,
         .state = n.state,
         .reply_code = n.reply_code,
         .enhanced_code = std::string(key.substr(r.enhanced_at, r.text_at - r.enhanced_at)),
         .reply_text = std::string(key.substr(r.text_at, r.host_at - r.text_at)),
         .destination_host = std::string(key.substr(r.host_at))});
  }
  return out;
}

void AttemptHistory::Erase(uint64_t queue_id) {
  auto [first, end] = notes_.equal_range(queue_id);
  if (first == end) return;
  for (auto it = first; it != end; ++it) Release(it->second.reply);
  notes_.erase(first, end);
  DCHECK(messages_ > 0);
  --messages_;
}

}  // namespace tern::spool
