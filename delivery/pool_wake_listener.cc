// Implementation of delivery/pool_wake_listener.h.
#include "delivery/pool_wake_listener.h"

#include "core/check.h"

namespace tern::delivery {

PoolWakeListener::PoolWakeListener(core::Loop* loop, net::PoolWakeups* wakeups, uint32_t shard,
                                   PoolWakeOwner* owner)
    : wakeups_(wakeups), shard_(shard), owner_(owner) {
  CHECK(loop != nullptr && wakeups != nullptr && owner != nullptr);
  link_->listener = this;
  wakeups_->Register(shard_, [link = link_, mailbox = loop->mailbox()](
                                 net::PoolWakeups::Reason why) { Post(link, mailbox, why); });
}

PoolWakeListener::~PoolWakeListener() {
  wakeups_->Unregister(shard_);
  link_->listener = nullptr;
}

void PoolWakeListener::Post(const std::shared_ptr<Link>& link,
                            const std::shared_ptr<core::Mailbox>& mailbox,
                            net::PoolWakeups::Reason why) {
  const bool slot = why == net::PoolWakeups::Reason::kSlotMayBeFree;
  std::atomic<bool>& posted = slot ? link->slot_posted : link->wait_posted;
  if (posted.exchange(true, std::memory_order_acq_rel)) return;  // one is on its way
  mailbox->Post([link, slot] {
    (slot ? link->slot_posted : link->wait_posted).store(false, std::memory_order_release);
    if (link->listener == nullptr) return;
    if (slot) {
      link->listener->OnSlotMayBeFree();
    } else {
      link->listener->OnSomeoneWaits();
    }
  });
}

void PoolWakeListener::OnSlotMayBeFree() {
  ++slot_wakes_;
  owner_->RetryLanesAwaitingHandoff();
  // Only the lanes noted before this wake: one noted again goes to the back.
  size_t left = order_.size();
  size_t refused_run = 0;
  while (left > 0 && !order_.empty() && refused_run < kRefusedRunMax) {
    --left;
    Lane* lane = order_.front();
    order_.pop_front();
    // A retry may drop other lanes (Forget takes them out of noted_; skipped here).
    if (noted_.erase(lane) == 0) continue;
    owner_->RetryLaneAtLimit(lane);
    refused_run = noted_.contains(lane) ? refused_run + 1 : 0;
  }
  // Entries of forgotten lanes must not pile up while nothing is retried.
  if (order_.size() > 2 * noted_.size() + 64) {
    std::deque<Lane*> kept;
    for (Lane* lane : order_) {
      if (noted_.contains(lane)) kept.push_back(lane);
    }
    order_.swap(kept);
  }
}

void PoolWakeListener::OnSomeoneWaits() {
  ++wait_wakes_;
  owner_->YieldIdleConnections();
}

}  // namespace tern::delivery
