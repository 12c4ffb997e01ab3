// Implementation of queue/connection_slots.h.
#include "queue/connection_slots.h"

#include "core/check.h"

namespace tern::queue {

bool ConnectionSlots::TryAcquire(uint32_t limit) {
  uint32_t open = open_.load(std::memory_order_relaxed);
  while (open < limit) {
    if (open_.compare_exchange_weak(open, open + 1, std::memory_order_relaxed)) return true;
  }
  return false;
}

void ConnectionSlots::Release() {
  const uint32_t before = open_.fetch_sub(1, std::memory_order_relaxed);
  CHECK_GT(before, 0u);
}

}  // namespace tern::queue
