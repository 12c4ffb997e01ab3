// Implementation of net/inbound_balance.h.
#include "net/inbound_balance.h"

#include "core/check.h"

namespace tern::net {

InboundBalance::InboundBalance(int shards)
    : shards_(shards), slots_(std::make_unique<Slot[]>(static_cast<size_t>(shards))) {
  CHECK(shards > 0);
}

void InboundBalance::SetAccepting(int shard, bool accepting) {
  CHECK_GE(shard, 0);
  CHECK_LT(shard, shards_);
  slots_[shard].accepting.store(accepting, std::memory_order_relaxed);
}

void InboundBalance::SetOpen(int shard, uint64_t sessions) {
  CHECK_GE(shard, 0);
  CHECK_LT(shard, shards_);
  slots_[shard].sessions.store(sessions, std::memory_order_relaxed);
}

uint64_t InboundBalance::load(int shard) const {
  CHECK_GE(shard, 0);
  CHECK_LT(shard, shards_);
  const Slot& slot = slots_[shard];
  return slot.sessions.load(std::memory_order_relaxed) +
         slot.incoming.load(std::memory_order_relaxed);
}

int InboundBalance::Place(int accepting_shard) {
  CHECK_GE(accepting_shard, 0);
  CHECK_LT(accepting_shard, shards_);
  int best = accepting_shard;
  uint64_t best_load = load(accepting_shard);
  for (int shard = 0; shard < shards_ && best_load > 0; ++shard) {
    if (shard == accepting_shard) continue;
    if (!slots_[shard].accepting.load(std::memory_order_relaxed)) continue;
    const uint64_t shard_load = load(shard);
    if (shard_load < best_load) {
      best = shard;
      best_load = shard_load;
    }
  }
  if (best != accepting_shard) slots_[best].incoming.fetch_add(1, std::memory_order_relaxed);
  return best;
}

void InboundBalance::HandOffEnded(int shard) {
  CHECK_GE(shard, 0);
  CHECK_LT(shard, shards_);
  const uint64_t before = slots_[shard].incoming.fetch_sub(1, std::memory_order_relaxed);
  CHECK(before > 0);  // one HandOffEnded() per hand-off Place() counted
}

}  // namespace tern::net
