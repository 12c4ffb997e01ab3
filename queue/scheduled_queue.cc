// Implementation of queue/scheduled_queue.h.
#include "queue/scheduled_queue.h"

#include <algorithm>

#include "core/check.h"

namespace tern::queue {

ScheduledQueue::ScheduledQueue(core::Loop* loop, absl::AnyInvocable<void(uint64_t)> on_due)
    : loop_(loop), on_due_(std::move(on_due)) {
  CHECK(loop_ != nullptr);
}

ScheduledQueue::~ScheduledQueue() { loop_->timers().Cancel(&timer_); }

void ScheduledQueue::Add(uint64_t queue_id, int64_t due_unix_us) {
  if (auto it = due_of_.find(queue_id); it != due_of_.end()) {
    by_due_.erase({it->second, queue_id});
  }
  by_due_.insert({due_unix_us, queue_id});
  due_of_[queue_id] = due_unix_us;
  DCHECK(by_due_.size() == due_of_.size());
  Arm();
}

bool ScheduledQueue::Remove(uint64_t queue_id) {
  auto it = due_of_.find(queue_id);
  if (it == due_of_.end()) return false;
  by_due_.erase({it->second, queue_id});
  due_of_.erase(it);
  DCHECK(by_due_.size() == due_of_.size());
  Arm();
  return true;
}

void ScheduledQueue::Stop() {
  stopped_ = true;
  loop_->timers().Cancel(&timer_);
}

void ScheduledQueue::Arm() {
  if (by_due_.empty() || stopped_) {
    loop_->timers().Cancel(&timer_);
    return;
  }
  const absl::Time due = std::max(absl::FromUnixMicros(by_due_.begin()->first), loop_->now());
  if (!timer_.armed() || timer_.deadline() != due) loop_->timers().Arm(&timer_, due);
}

void ScheduledQueue::OnDue() {
  ++ticks_;
  const int64_t now_us = absl::ToUnixMicros(loop_->now());
  size_t taken = 0;
  while (!stopped_ && !by_due_.empty() && by_due_.begin()->first <= now_us && taken < kDuePerTick) {
    const uint64_t id = by_due_.begin()->second;
    by_due_.erase(by_due_.begin());
    due_of_.erase(id);
    ++taken;
    ++handed_out_;
    on_due_(id);  // may Add() or Remove() others
  }
  Arm();
}

}  // namespace tern::queue
