// ScheduledQueue: the messages of one shard waiting for a time (their next attempt after a
// deferral, or the recovered queue at start-up), and the timer that hands each back when
// its time comes. A message is in it at most once; adding it again moves it. Due messages
// are handed out at most kDuePerTick per timer callback, so a recovered queue of millions
// does not stall the loop in one go; the rest follow on the next loop turn.
//
//   ScheduledQueue scheduled(loop, [&](uint64_t id) { Schedule(id); });
//   scheduled.Add(id, next_attempt_unix_us);
//   scheduled.Remove(id);              // held, deleted, flushed
//   scheduled.Stop();                  // shutdown: nothing more is handed out
//
// Single-threaded: everything runs on the shard's loop. Memory: about 60 bytes a message
// (bench/queue/queue_memory_bench.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "core/loop.h"
#include "core/timer_wheel.h"

namespace tern::queue {

class ScheduledQueue {
 public:
  static constexpr size_t kDuePerTick = 4096;

  ScheduledQueue(core::Loop* loop, absl::AnyInvocable<void(uint64_t queue_id)> on_due);
  ~ScheduledQueue();
  ScheduledQueue(const ScheduledQueue&) = delete;
  ScheduledQueue& operator=(const ScheduledQueue&) = delete;

  // Due at `due_unix_us` (now or earlier: on the next timer callback).
  void Add(uint64_t queue_id, int64_t due_unix_us);
  // False when it was not waiting.
  bool Remove(uint64_t queue_id);
  bool Contains(uint64_t queue_id) const { return due_of_.contains(queue_id); }
  size_t size() const { return due_of_.size(); }
  // Cancels the timer; Add() keeps the entries but arms nothing.
  void Stop();

  // Counters, for tests and metrics.
  uint64_t handed_out() const { return handed_out_; }
  uint64_t ticks() const { return ticks_; }

 private:
  class DueTimer final : public core::Timer {
   public:
    explicit DueTimer(ScheduledQueue* queue) : queue_(queue) {}
    void OnTimer() override { queue_->OnDue(); }

   private:
    ScheduledQueue* queue_;
  };

  void Arm();
  void OnDue();

  core::Loop* const loop_;
  absl::AnyInvocable<void(uint64_t)> on_due_;
  // (due unix µs, queue id). A B-tree: 16 bytes an entry in nodes of many, where a
  // red-black tree (std::set) takes a 48-byte node each and a cache miss per level.
  absl::btree_set<std::pair<int64_t, uint64_t>> by_due_;
  absl::flat_hash_map<uint64_t, int64_t> due_of_;  // queue id -> its entry in by_due_
  DueTimer timer_{this};
  bool stopped_ = false;
  uint64_t handed_out_ = 0;
  uint64_t ticks_ = 0;
};

}  // namespace tern::queue
