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

TimerWheel::TimerWheel() : slots_(kSlots + 1, nullptr) {}

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
  LinkInto(timer, static_cast<size_t>(tick) % kSlots);
  earliest_armed_ = std::min(earliest_armed_, timer->deadline_);
}

void TimerWheel::LinkInto(Timer* timer, size_t slot) {
  timer->slot_ = slot;
  Timer*& head = slots_[slot];
  timer->prev_ = nullptr;
  timer->next_ = head;
  if (head != nullptr) head->prev_ = timer;
  head = timer;
  timer->wheel_ = this;
  ++armed_count_;
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
  // Move every due timer to the firing list first (visiting each slot at most once, even
  // after a long stall), then fire them one by one. A callback may cancel, re-arm or destroy
  // any timer, including others still waiting in the firing list: they unlink themselves.
  int64_t last = std::min(now_tick, current_tick_ + static_cast<int64_t>(kSlots) - 1);
  for (int64_t tick = current_tick_; tick <= last; ++tick) {
    Timer* t = slots_[static_cast<size_t>(tick) % kSlots];
    while (t != nullptr) {
      Timer* next = t->next_;
      if (t->deadline_ <= now) {
        Unlink(t);
        LinkInto(t, kFiringSlot);
      }
      t = next;
    }
  }
  current_tick_ = now_tick;
  while (Timer* t = slots_[kFiringSlot]) {
    Unlink(t);
    t->OnTimer();
  }
  // The next deadline within one poll interval, so that a timer armed before this call
  // and due shortly after it (a throttled lane's wake-up, ms apart) fires on time rather
  // than at the next poll. Timers beyond are found by the polls.
  for (int64_t tick = current_tick_; tick <= current_tick_ + kPollMs / kTickMs; ++tick) {
    for (Timer* t = slots_[static_cast<size_t>(tick) % kSlots]; t != nullptr; t = t->next_) {
      earliest_armed_ = std::min(earliest_armed_, t->deadline_);
    }
  }
}

}  // namespace tern::core
