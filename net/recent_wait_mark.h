// RecentWaitMark: whether any shard has waited for a connection slot within
// ConnectionShares::kWaitFresh, readable without a lock. The shared structures that split a
// connection limit between shards (net::Destination, net::SlotWaitBoard) mark each wait
// here, so that the per-transaction questions ("should this shard give a connection back?
// does another shard wait?") skip their mutex while nobody waits, which is nearly always.
// A reader racing a new wait may miss it once: the waiter also tells the holding shards
// (PoolWakeups::Reason::kSomeoneWaits), which ask again.
//
//   mark.Mark(now);                           // with every Wait(), under or after the lock
//   if (!mark.Recent(absl::Now())) return false;  // nobody waits: no lock taken
#pragma once

#include <atomic>
#include <cstdint>

#include "absl/time/time.h"
#include "net/connection_shares.h"

namespace tern::net {

class RecentWaitMark {
 public:
  void Mark(absl::Time now) {
    last_wait_unix_ns_.store(absl::ToUnixNanos(now), std::memory_order_relaxed);
  }
  // Whether a wait was marked less than kWaitFresh before `now`.
  bool Recent(absl::Time now) const {
    const int64_t last = last_wait_unix_ns_.load(std::memory_order_relaxed);
    return last != 0 && now - absl::FromUnixNanos(last) < ConnectionShares::kWaitFresh;
  }

 private:
  std::atomic<int64_t> last_wait_unix_ns_{0};
};

}  // namespace tern::net
