// ConnectionSlots: the count of open connections in one shaping scope, all shards together,
// against a limit given at each acquire (so a policy change applies at once). Lowering the
// limit closes nothing: open connections stay, and no new one is granted until the count is
// under the new limit. Lock-free: one compare-and-swap loop.
//
//   if (slots.TryAcquire(limit)) { ... open the connection ...; later slots.Release(); }
#pragma once

#include <atomic>
#include <cstdint>

namespace tern::queue {

class ConnectionSlots {
 public:
  ConnectionSlots() = default;
  ConnectionSlots(const ConnectionSlots&) = delete;
  ConnectionSlots& operator=(const ConnectionSlots&) = delete;

  // One more open connection, when fewer than `limit` are open.
  bool TryAcquire(uint32_t limit);
  // One connection closed (or an acquire undone). CHECKs that one was open.
  void Release();
  uint32_t open() const { return open_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint32_t> open_{0};
};

}  // namespace tern::queue
