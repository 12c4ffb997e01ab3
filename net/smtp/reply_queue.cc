// Implementation of net/smtp/reply_queue.h.
#include "net/smtp/reply_queue.h"

#include "core/check.h"

namespace tern::net::smtp {
namespace {
// Sent bytes are dropped from the front once at least this many have accumulated and they
// are more than half the buffer, so compaction costs O(1) amortized per byte.
constexpr size_t kCompactBytesMin = 4096;
}  // namespace

void ReplyQueue::Append(absl::string_view text) { buffer_.append(text.data(), text.size()); }

ReplyQueue::SlotId ReplyQueue::AppendPending() {
  SlotId id = next_slot_id_++;
  slots_.push_back(Slot{id, buffer_.size()});
  return id;
}

void ReplyQueue::Fill(SlotId slot, absl::string_view text) {
  size_t index = 0;
  while (index < slots_.size() && slots_[index].id != slot) ++index;
  CHECK_LT(index, slots_.size());  // unknown or already filled slot
  const size_t position = slots_[index].position;
  CHECK_GE(position, head_);
  buffer_.insert(position, text.data(), text.size());
  slots_.erase(slots_.begin() + index);
  for (size_t i = index; i < slots_.size(); ++i) slots_[i].position += text.size();
}

absl::string_view ReplyQueue::Sendable() const {
  size_t end = slots_.empty() ? buffer_.size() : slots_.front().position;
  return absl::string_view(buffer_).substr(head_, end - head_);
}

void ReplyQueue::Consume(size_t n) {
  CHECK_LE(n, Sendable().size());
  head_ += n;
  Compact();
}

void ReplyQueue::Compact() {
  if (head_ == buffer_.size() || (head_ >= kCompactBytesMin && head_ * 2 > buffer_.size())) {
    buffer_.erase(0, head_);
    for (Slot& slot : slots_) slot.position -= head_;
    head_ = 0;
  }
}

}  // namespace tern::net::smtp
