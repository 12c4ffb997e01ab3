// ScopeThrottle: the shared throttle state of one shaping scope ("provider:google",
// "site:mx.example.net", "domain:example.com@ip2", ...): its message-rate cell, its
// connection-rate cell and its open-connection count. One per scope key in the process
// (queue/throttle_registry.h); every shard's lanes hold a shared_ptr to it and use it
// without a lock. The limits themselves are not here: they come with each call, from the
// policy in force, so the state outlives any policy object.
#pragma once

#include <string>

#include "queue/connection_slots.h"
#include "queue/throttle_cell.h"

namespace tern::queue {

struct ScopeThrottle {
  explicit ScopeThrottle(std::string scope_key) : key(std::move(scope_key)) {}
  ScopeThrottle(const ScopeThrottle&) = delete;
  ScopeThrottle& operator=(const ScopeThrottle&) = delete;

  // Nothing left to remember at `now`: both buckets full and no connection open.
  bool Idle(absl::Time now) const {
    return message_rate.Full(now) && connection_rate.Full(now) && connections.open() == 0;
  }

  const std::string key;
  ThrottleCell message_rate;     // messages (transactions) started
  ThrottleCell connection_rate;  // connections opened
  ConnectionSlots connections;   // connections open now
};

}  // namespace tern::queue
