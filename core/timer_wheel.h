// TimerWheel: a hashed timing wheel for many coarse timers (idle and per-command deadlines
// of thousands of connections). Timers are intrusive: a Timer lives inside its owner, costs
// no allocation to arm or re-arm, and is cancelled by its destructor. Resolution is
// kTickMs; a timer never fires early, and at most one tick late.
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
  Timer* prev_ = nullptr;
  Timer* next_ = nullptr;
  absl::Time deadline_;
};

class TimerWheel {
 public:
  static constexpr int64_t kTickMs = 10;
  static constexpr size_t kSlots = 4096;  // one lap = 40.96 s; longer timers wait laps.

  TimerWheel();
  ~TimerWheel();
  // Arms (or re-arms) `timer` to fire at `deadline`.
  void Arm(Timer* timer, absl::Time deadline);
  void Cancel(Timer* timer);
  // Fires every timer whose deadline is <= now.
  void Advance(absl::Time now);
  // The earliest time a timer may be due (InfiniteFuture when none is armed).
  absl::Time NextDeadline() const;
  size_t armed_count() const { return armed_count_; }

 private:
  static int64_t TickOf(absl::Time t);
  void Link(Timer* timer);
  void Unlink(Timer* timer);

  std::vector<Timer*> slots_;
  int64_t current_tick_ = -1;
  size_t armed_count_ = 0;
  absl::Time earliest_ = absl::InfiniteFuture();
};

}  // namespace tern::core
