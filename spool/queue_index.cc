// QueueIndex and QueueEntry: the one-block entry layout and the id-ordered map.
#include "spool/queue_index.h"

#include <algorithm>
#include <cstring>

#include "core/check.h"
#include "spool/state_record.h"

namespace tern::spool {

QueueEntry QueueEntry::FromMessage(RecordLocation location, const MessageRecordView& view) {
  QueueEntry e;
  e.location_ = location;
  e.received_unix_us_ = view.received_unix_us();
  e.message_bytes_ = view.body().size();
  e.recipient_count_ = view.recipient_count();
  e.attempts_ = view.schedule().attempts;
  e.next_attempt_unix_us_ = view.schedule().next_attempt_unix_us;
  e.held_ = view.schedule().held;
  CHECK_LE(view.sender().size(), kEnvelopeStringBytesMax);  // Parse() refuses longer
  e.sender_bytes_ = static_cast<uint16_t>(view.sender().size());
  static_assert(kEnvelopePoolBytesMax <= UINT8_MAX);
  CHECK_LE(view.pool().size(), kEnvelopePoolBytesMax);  // Parse() refuses longer
  e.pool_bytes_ = static_cast<uint8_t>(view.pool().size());
  size_t bytes = sizeof(RecipientSlot) * e.recipient_count_ + e.sender_bytes_ + e.pool_bytes_;
  RecipientView r;
  for (auto it = view.recipients(); it.Next(&r);) bytes += r.address.size();
  e.block_ = std::make_unique_for_overwrite<char[]>(std::max<size_t>(bytes, 1));
  char* strings = e.block_.get() + sizeof(RecipientSlot) * e.recipient_count_;
  std::memcpy(strings, view.sender().data(), e.sender_bytes_);
  if (e.pool_bytes_ > 0) std::memcpy(strings + e.sender_bytes_, view.pool().data(), e.pool_bytes_);
  size_t at = sizeof(RecipientSlot) * e.recipient_count_ + e.sender_bytes_ + e.pool_bytes_;
  uint32_t i = 0;
  for (auto it = view.recipients(); it.Next(&r); ++i) {
    RecipientSlot slot{static_cast<uint32_t>(at), static_cast<uint16_t>(r.address.size()),
                       static_cast<uint8_t>(r.state), r.notify};
    std::memcpy(e.block_.get() + sizeof(RecipientSlot) * i, &slot, sizeof(slot));
    std::memcpy(e.block_.get() + at, r.address.data(), r.address.size());
    if (IsFinalRecipientState(r.state)) ++e.final_recipients_;
    at += r.address.size();
  }
  CHECK_EQ(i, e.recipient_count_);
  CHECK_EQ(at, bytes);
  return e;
}

absl::string_view QueueEntry::pool() const {
  return absl::string_view(block_.get() + sizeof(RecipientSlot) * recipient_count_ + sender_bytes_,
                           pool_bytes_);
}

const QueueEntry::RecipientSlot* QueueEntry::slots() const {
  return reinterpret_cast<const RecipientSlot*>(block_.get());
}
QueueEntry::RecipientSlot* QueueEntry::slots() {
  return reinterpret_cast<RecipientSlot*>(block_.get());
}

absl::string_view QueueEntry::sender() const {
  return absl::string_view(block_.get() + sizeof(RecipientSlot) * recipient_count_, sender_bytes_);
}

absl::string_view QueueEntry::recipient(uint32_t i) const {
  CHECK_LT(i, recipient_count_);
  const RecipientSlot& s = slots()[i];
  return absl::string_view(block_.get() + s.offset, s.bytes);
}

uint8_t QueueEntry::recipient_notify(uint32_t i) const {
  CHECK_LT(i, recipient_count_);
  return slots()[i].notify;
}

RecipientState QueueEntry::recipient_state(uint32_t i) const {
  CHECK_LT(i, recipient_count_);
  return static_cast<RecipientState>(slots()[i].state);
}

void QueueEntry::set_recipient_state(uint32_t i, RecipientState state) {
  CHECK_LT(i, recipient_count_);
  RecipientSlot& slot = slots()[i];
  const bool was_final = IsFinalRecipientState(static_cast<RecipientState>(slot.state));
  if (was_final != IsFinalRecipientState(state)) {
    if (was_final) {
      CHECK_GT(final_recipients_, 0u);
      --final_recipients_;
    } else {
      ++final_recipients_;
    }
  }
  slot.state = static_cast<uint8_t>(state);
}

bool QueueEntry::ApplyResult(uint32_t recipient, RecipientState state, uint32_t attempts,
                             int64_t next_attempt_unix_us) {
  if (recipient >= recipient_count_) return false;
  if (!IsFinalRecipientState(recipient_state(recipient))) set_recipient_state(recipient, state);
  attempts_ = std::max(attempts_, attempts);
  if (state == RecipientState::kDeferred) next_attempt_unix_us_ = next_attempt_unix_us;
  return true;
}

bool QueueEntry::finished() const { return final_recipients_ == recipient_count_; }

void QueueIndex::Insert(uint64_t queue_id, QueueEntry entry) {
  message_bytes_ += entry.message_bytes();
  held_count_ += entry.held() ? 1 : 0;
  if (entry.held_until_unix_us() != 0) timed_holds_.emplace(entry.held_until_unix_us(), queue_id);
  max_queue_id_ = std::max(max_queue_id_, queue_id);
  auto [it, inserted] = map_.try_emplace(queue_id, std::move(entry));
  if (!inserted) {
    CHECK_GE(message_bytes_, it->second.message_bytes());
    message_bytes_ -= it->second.message_bytes();
    held_count_ -= it->second.held() ? 1 : 0;
    timed_holds_.erase({it->second.held_until_unix_us(), queue_id});
    it->second = std::move(entry);
    if (it->second.held_until_unix_us() != 0) {
      timed_holds_.emplace(it->second.held_until_unix_us(), queue_id);
    }
  }
}

bool QueueIndex::Remove(uint64_t queue_id) {
  auto it = map_.find(queue_id);
  if (it == map_.end()) return false;
  CHECK_GE(message_bytes_, it->second.message_bytes());
  message_bytes_ -= it->second.message_bytes();
  held_count_ -= it->second.held() ? 1 : 0;
  timed_holds_.erase({it->second.held_until_unix_us(), queue_id});
  map_.erase(it);
  history_.Erase(queue_id);
  return true;
}

const QueueEntry* QueueIndex::Find(uint64_t queue_id) const {
  auto it = map_.find(queue_id);
  return it == map_.end() ? nullptr : &it->second;
}

bool QueueIndex::SetHeld(uint64_t queue_id, bool held, int64_t until_unix_us) {
  auto it = map_.find(queue_id);
  if (it == map_.end()) return false;
  QueueEntry& entry = it->second;
  timed_holds_.erase({entry.held_until_unix_us_, queue_id});
  entry.held_until_unix_us_ = held ? until_unix_us : 0;
  if (entry.held_until_unix_us_ != 0) timed_holds_.emplace(entry.held_until_unix_us_, queue_id);
  if (it->second.held_ != held) {
    held_count_ += held ? 1 : 0;
    held_count_ -= held ? 0 : 1;
    it->second.held_ = held;
  }
  return true;
}

QueueEntry* QueueIndex::FindMutable(uint64_t queue_id) {
  auto it = map_.find(queue_id);
  return it == map_.end() ? nullptr : &it->second;
}

}  // namespace tern::spool
