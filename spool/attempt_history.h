// AttemptHistory: the last delivery results of each queued message, for `ternctl show`
// (every attempt with the reply it got). Filled from the state records as they are written
// and by recovery as it folds them (recovered notes carry no time: the record format has
// none, the delivery log has it). At most kNotesPerMessage notes per message, the oldest
// dropped first; a message's notes go when it leaves the queue. Messages never tried cost
// nothing here.
//
// Memory stays small when it matters, in an outage with a million messages deferred with
// the same few replies: a note is 24 bytes (about 40 in its B-tree), and its reply (enhanced code,
// text, host) is interned once per shard with a reference count.
//
//   history.Add(queue_id, AttemptNote::From(result, now_us));
//   for (const AttemptNote& note : history.Of(queue_id)) Print(note);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
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
  static constexpr size_t kNotesPerMessage = 8;

  void Add(uint64_t queue_id, const AttemptNote& note);
  // Oldest first; empty when the message has none.
  std::vector<AttemptNote> Of(uint64_t queue_id) const;
  void Erase(uint64_t queue_id);
  size_t messages() const { return messages_; }
  // Distinct replies held (for tests and memory accounting).
  size_t replies() const { return reply_ids_.size(); }

 private:
  struct Reply {
    std::string key;  // "<enhanced size>:<text size>:" enhanced text host (any bytes)
    size_t enhanced_at = 0;
    size_t text_at = 0;
    size_t host_at = 0;
    uint32_t refs = 0;
  };
  struct Note {
    int64_t at_unix_us;
    uint32_t recipient;
    uint32_t attempt;
    uint32_t reply;  // index into replies_
    uint16_t reply_code;
    RecipientState state;
  };
  static_assert(sizeof(Note) == 24);

  uint32_t Intern(const AttemptNote& note);
  void Release(uint32_t reply);

  // Every note keyed by its message, oldest first within one: a B-tree packs them (about
  // 40 bytes a note) without a hash table's doubling, nor a block per message.
  absl::btree_multimap<uint64_t, Note> notes_;
  size_t messages_ = 0;  // distinct keys in notes_
  std::vector<Reply> replies_;
  std::vector<uint32_t> free_replies_;
  absl::flat_hash_map<std::string, uint32_t> reply_ids_;
};

}  // namespace tern::spool
