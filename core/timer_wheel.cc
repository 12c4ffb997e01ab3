// Implementation of core/timer_wheel.h: a single-level hashed wheel with intrusive lists.
// A timer whose deadline is more than one lap away stays in its slot and is skipped until
// the lap in which it is due. Arm and Cancel are O(1); Advance visits only the slots of the
// ticks that passed.
#include "core/timer_wheel.h"

#include <algorithm>

#include "core/check.h"

namespace tern::core {

Timer::~Timer() {
  if (wheel_ != nullptr) wheel_->Cancel(this);
}

TimerWheel::TimerWheel() : slots_(kSlots, nullptr) {}

TimerWheel::~TimerWheel() {
  for (Timer* head : slots_) {
    for (Timer* t = head; t != nullptr;) {
      Timer* next = t->next_;
      t->wheel_ = nullptr;
      t->prev_ = t->next_ = nullptr;
      t = next;
    }
  }
}

int64_t TimerWheel::TickOf(absl::Time t) { return absl::ToUnixMillis(t) / kTickMs; }

void TimerWheel::Link(Timer* timer) {
  int64_t tick = TickOf(timer->deadline_);
  if (current_tick_ >= 0 && tick < current_tick_) tick = current_tick_;
  timer->slot_ = static_cast<size_t>(tick) % kSlots;
  Timer*& head = slots_[timer->slot_];
  timer->prev_ = nullptr;
  timer->next_ = head;
  if (head != nullptr) head->prev_ = timer;
  head = timer;
  timer->wheel_ = this;
  ++armed_count_;
  earliest_armed_ = std::min(earliest_armed_, timer->deadline_);
}

void TimerWheel::Unlink(Timer* timer) {
  CHECK(timer->wheel_ == this);
  if (timer->prev_ != nullptr) {
    timer->prev_->next_ = timer->next_;
  } else {
    CHECK(slots_[timer->slot_] == timer);
    slots_[timer->slot_] = timer->next_;
  }
  if (timer->next_ != nullptr) timer->next_->prev_ = timer->prev_;
  timer->prev_ = timer->next_ = nullptr;
  timer->wheel_ = nullptr;
  CHECK_GT(armed_count_, 0u);
  --armed_count_;
}

void TimerWheel::Arm(Timer* timer, absl::Time deadline) {
  if (timer->wheel_ != nullptr) timer->wheel_->Unlink(timer);
  timer->deadline_ = deadline;
  Link(timer);
}

void TimerWheel::Cancel(Timer* timer) {
  if (timer->wheel_ == nullptr) return;
  Unlink(timer);
}

absl::Time TimerWheel::NextDeadline() const {
  if (armed_count_ == 0) return absl::InfiniteFuture();
  return std::min(earliest_armed_, last_advance_ + absl::Milliseconds(kPollMs));
}

void TimerWheel::Advance(absl::Time now) {
  last_advance_ = now;
  earliest_armed_ = absl::InfiniteFuture();
  int64_t now_tick = TickOf(now);
  if (current_tick_ < 0 || armed_count_ == 0) {
    current_tick_ = now_tick;
    return;
  }
  // Visit each slot at most once per call, even after a long stall.
  int64_t last = std::min(now_tick, current_tick_ + static_cast<int64_t>(kSlots) - 1);
  std::vector<Timer*> due;
  for (int64_t tick = current_tick_; tick <= last; ++tick) {
    for (Timer* t = slots_[static_cast<size_t>(tick) % kSlots]; t != nullptr; t = t->next_) {
      if (t->deadline_ <= now) due.push_back(t);
    }
  }
  current_tick_ = now_tick;
  for (Timer* t : due) Unlink(t);
  for (Timer* t : due) {
    // A callback may re-arm a timer that is also due: fire only those still unarmed.
    // Owners must not destroy another owner's due timer from OnTimer().
    if (t->wheel_ == nullptr) t->OnTimer();
  }
}

}  // namespace tern::core
