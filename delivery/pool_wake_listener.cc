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
  // A retry may drop other lanes (Forget takes them out of retrying_ too).
  retrying_.swap(lanes_at_limit_);
  while (!retrying_.empty()) {
    Lane* lane = *retrying_.begin();
    retrying_.erase(retrying_.begin());
    owner_->RetryLaneAtLimit(lane);
  }
}

void PoolWakeListener::OnSomeoneWaits() {
  ++wait_wakes_;
  owner_->YieldIdleConnections();
}

}  // namespace tern::delivery
