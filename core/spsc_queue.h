// SpscQueue: a bounded, lock-free single-producer single-consumer queue. Shards exchange
// messages only through these (plus an eventfd wake-up, see Loop::Wake): one thread pushes,
// one other thread pops. Push fails (returns false) when the queue is full: the producer
// decides what that means (retry later, or answer "busy").
//
//   core::SpscQueue<Request> inbox(64);
//   if (!inbox.Push(std::move(req))) { ... full ... }   // producer thread
//   while (auto req = inbox.Pop()) Handle(*req);         // consumer thread
#pragma once

#include <atomic>
#include <cstddef>
#include <optional>
#include <vector>

#include "core/check.h"

namespace tern::core {

template <typename T>
class SpscQueue {
 public:
  explicit SpscQueue(size_t capacity) : slots_(capacity + 1) { CHECK_GT(capacity, 0u); }
  SpscQueue(const SpscQueue&) = delete;
  SpscQueue& operator=(const SpscQueue&) = delete;

  // Producer side.
  bool Push(T value) {
    const size_t tail = tail_.load(std::memory_order_relaxed);
    const size_t next = Next(tail);
    if (next == head_.load(std::memory_order_acquire)) return false;
    slots_[tail] = std::move(value);
    tail_.store(next, std::memory_order_release);
    return true;
  }

  // Consumer side.
  std::optional<T> Pop() {
    const size_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_.load(std::memory_order_acquire)) return std::nullopt;
    std::optional<T> value(std::move(slots_[head]));
    slots_[head] = T();
    head_.store(Next(head), std::memory_order_release);
    return value;
  }

  bool Empty() const {
    return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire);
  }

 private:
  size_t Next(size_t i) const { return i + 1 == slots_.size() ? 0 : i + 1; }

  std::vector<T> slots_;
  alignas(64) std::atomic<size_t> head_{0};
  alignas(64) std::atomic<size_t> tail_{0};
};

}  // namespace tern::core
