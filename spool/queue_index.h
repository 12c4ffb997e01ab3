// QueueIndex: one shard's in-memory index of live messages, rebuilt by recovery from the
// segments and kept up to date as messages become durable. It holds what the queue needs to
// schedule and list messages (where the record is, sender, recipients and their states);
// the body stays on disk and is read from the record location at delivery time.
//
// Each entry costs its map slot plus exactly one heap block holding sender and recipients.
// Iteration is in queue id order (ids grow with time, so this is also arrival order).
//
//   QueueIndex index;
//   index.Insert(id, QueueEntry::FromMessage(location, view));
//   if (const QueueEntry* e = index.Find(id)) Deliver(e->sender(), ...);
//   for (const auto& [id, entry] : index) List(id, entry);
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/strings/string_view.h"
#include "spool/attempt_history.h"
#include "spool/message_record.h"
#include "spool/record_location.h"

namespace tern::spool {

class QueueEntry {
 public:
  // Copies sender and recipients out of `view` into one block.
  static QueueEntry FromMessage(RecordLocation location, const MessageRecordView& view);

  QueueEntry(QueueEntry&&) noexcept = default;
  QueueEntry& operator=(QueueEntry&&) noexcept = default;

  const RecordLocation& location() const { return location_; }
  void set_location(RecordLocation location) { location_ = location; }
  int64_t received_unix_us() const { return received_unix_us_; }
  uint64_t message_bytes() const { return message_bytes_; }
  absl::string_view sender() const;
  // The egress pool named at reception (empty: none).
  absl::string_view pool() const;
  uint32_t recipient_count() const { return recipient_count_; }
  absl::string_view recipient(uint32_t i) const;
  uint8_t recipient_notify(uint32_t i) const;
  RecipientState recipient_state(uint32_t i) const;
  void set_recipient_state(uint32_t i, RecipientState state);

  // Scheduling state (spool/state_record.h): attempts, next attempt, hold.
  uint32_t attempts() const { return attempts_; }
  int64_t next_attempt_unix_us() const { return next_attempt_unix_us_; }
  bool held() const { return held_; }
  // A hold given a duration (`ternctl hold --duration`): when it ends; 0: until released.
  int64_t held_until_unix_us() const { return held_until_unix_us_; }
  MessageSchedule schedule() const { return {attempts_, next_attempt_unix_us_, held_}; }

  // Folds one recipient's result in: a final state (delivered, bounced, expired) is never
  // changed again; attempts only grow; a DEFERRED result sets the next attempt. False (and
  // nothing changed) when the recipient index is out of range.
  bool ApplyResult(uint32_t recipient, RecipientState state, uint32_t attempts,
                   int64_t next_attempt_unix_us);
  // Every recipient delivered, bounced or expired: the message leaves the queue.
  bool finished() const;

 private:
  friend class QueueIndex;  // sets held_, counting it
  struct RecipientSlot {
    uint32_t offset;  // of the address in the block
    uint16_t bytes;
    uint8_t state;
    uint8_t notify;
  };
  static_assert(sizeof(RecipientSlot) == 8);
  QueueEntry() = default;
  const RecipientSlot* slots() const;
  RecipientSlot* slots();

  // Ordered for no padding: 80 bytes (a million queued messages hold one each in the map).
  RecordLocation location_;
  int64_t received_unix_us_ = 0;
  uint64_t message_bytes_ = 0;  // body bytes
  int64_t next_attempt_unix_us_ = 0;
  int64_t held_until_unix_us_ = 0;
  // [RecipientSlot * recipient_count][sender][pool][recipient addresses...]
  std::unique_ptr<char[]> block_;
  uint32_t attempts_ = 0;
  uint32_t final_recipients_ = 0;  // recipients in a final state
  uint32_t recipient_count_ = 0;
  uint16_t sender_bytes_ = 0;  // kEnvelopeStringBytesMax fits
  bool held_ = false;
  uint8_t pool_bytes_ = 0;  // kEnvelopePoolBytesMax fits
};
static_assert(kEnvelopeStringBytesMax <= UINT16_MAX);

class QueueIndex {
 public:
  using Map = absl::btree_map<uint64_t, QueueEntry>;

  // Inserts or replaces (a later copy of a message supersedes an earlier one).
  void Insert(uint64_t queue_id, QueueEntry entry);
  // False if there was no such message.
  bool Remove(uint64_t queue_id);
  const QueueEntry* Find(uint64_t queue_id) const;
  QueueEntry* FindMutable(uint64_t queue_id);
  // HOLD (until `until_unix_us`, 0: until released) / RELEASE; false if there is no such
  // message.
  bool SetHeld(uint64_t queue_id, bool held, int64_t until_unix_us = 0);
  // The holds that end by themselves, (until unix us, queue id), soonest first: whoever
  // delivers releases them when due (a RELEASE record, as the operator's).
  const std::set<std::pair<int64_t, uint64_t>>& timed_holds() const { return timed_holds_; }

  size_t count() const { return map_.size(); }
  size_t held_count() const { return held_count_; }
  // Sum of message_bytes() over live messages.
  uint64_t message_bytes() const { return message_bytes_; }
  // Highest queue id ever inserted (0: none), for the id floor after recovery.
  uint64_t max_queue_id() const { return max_queue_id_; }
  // The live messages' recent delivery results (a message's go when it is removed).
  const AttemptHistory& history() const { return history_; }
  AttemptHistory* mutable_history() { return &history_; }

  Map::const_iterator begin() const { return map_.begin(); }
  Map::const_iterator end() const { return map_.end(); }

 private:
  Map map_;
  AttemptHistory history_;
  uint64_t message_bytes_ = 0;
  uint64_t max_queue_id_ = 0;
  size_t held_count_ = 0;
  std::set<std::pair<int64_t, uint64_t>> timed_holds_;
};

}  // namespace tern::spool
