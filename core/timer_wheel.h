// TimerWheel: a hashed timing wheel for many coarse timers (idle and per-command deadlines
// of thousands of connections). Timers are intrusive: a Timer lives inside its owner, costs
// no allocation to arm or re-arm, and is cancelled by its destructor. A timer never fires
// early; the loop polls the wheel at least every kPollMs while timers are armed, so a timer
// fires at most kPollMs late. OnTimer() may arm, cancel or destroy any timer, itself included.
//
//   class Session : public core::Timer { void OnTimer() override { ... } };
//   loop.timers().Arm(&session, loop.now() + absl::Seconds(300));
#pragma once

#include <cstdint>
#include <vector>

#include "absl/time/time.h"

namespace tern::core {

class TimerWheel;

class Timer {
 public:
  Timer() = default;
  virtual ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;
  virtual void OnTimer() = 0;
  bool armed() const { return wheel_ != nullptr; }
  absl::Time deadline() const { return deadline_; }

 private:
  friend class TimerWheel;
  TimerWheel* wheel_ = nullptr;
  size_t slot_ = 0;
  Timer* prev_ = nullptr;
  Timer* next_ = nullptr;
  absl::Time deadline_;
};

class TimerWheel {
 public:
  static constexpr int64_t kTickMs = 10;
  static constexpr size_t kSlots = 4096;  // one lap = 40.96 s; longer timers wait laps.
  static constexpr int64_t kPollMs = 100;
  static_assert(kPollMs >= kTickMs);

  TimerWheel();
  ~TimerWheel();
  // Arms (or re-arms) `timer` to fire at `deadline`.
  void Arm(Timer* timer, absl::Time deadline);
  void Cancel(Timer* timer);
  // Fires every timer whose deadline is <= now.
  void Advance(absl::Time now);
  // When the loop must call Advance() next at the latest (InfiniteFuture: nothing armed).
  absl::Time NextDeadline() const;
  size_t armed_count() const { return armed_count_; }

 private:
  static constexpr size_t kFiringSlot = kSlots;  // due timers waiting for their callback

  static int64_t TickOf(absl::Time t);
  void Link(Timer* timer);
  void LinkInto(Timer* timer, size_t slot);
  void Unlink(Timer* timer);

  std::vector<Timer*> slots_;  // kSlots wheel slots, then the firing list
  int64_t current_tick_ = -1;
  size_t armed_count_ = 0;
  absl::Time last_advance_ = absl::InfinitePast();
  absl::Time earliest_armed_ = absl::InfiniteFuture();  // since the last Advance()
};

}  // namespace tern::core
