// ConnectionLimiter: counts open connections per client IP across all shards, for
// --max_connections_per_ip. Shards share nothing else on the receive path, so this is a
// fixed table of atomic counters indexed by a hash of the address: no lock, no allocation,
// bounded memory. Two addresses that hash alike share a counter, which can only make the
// limit stricter for them (never looser); 65536 buckets make that rare.
//
//   if (!limiter.TryAcquire(peer)) { reply 421 4.7.0 and close; }
//   ...
//   limiter.Release(peer);
#pragma once

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cstdint>

namespace tern::net {

class ConnectionLimiter {
 public:
  static constexpr size_t kBuckets = 65536;
  // limit 0 means unlimited.
  explicit ConnectionLimiter(uint32_t limit) : limit_(limit) {}
  bool TryAcquire(const sockaddr_storage& peer);
  void Release(const sockaddr_storage& peer);
  uint32_t limit() const { return limit_; }

 private:
  static size_t BucketOf(const sockaddr_storage& peer);
  const uint32_t limit_;
  std::array<std::atomic<uint32_t>, kBuckets> counts_{};
};

}  // namespace tern::net
