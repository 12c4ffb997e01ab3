// Implementation of net/connection_limiter.h.
#include "net/connection_limiter.h"

#include <netinet/in.h>

#include <cstring>

#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "core/check.h"

namespace tern::net {

size_t ConnectionLimiter::BucketOf(const sockaddr_storage& peer) {
  absl::string_view key;
  if (peer.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&peer);
    key = absl::string_view(reinterpret_cast<const char*>(&v4->sin_addr), 4);
  } else {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&peer);
    key = absl::string_view(reinterpret_cast<const char*>(&v6->sin6_addr), 16);
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) key = key.substr(12);
  }
  return absl::Hash<absl::string_view>()(key) % kBuckets;
}

bool ConnectionLimiter::TryAcquire(const sockaddr_storage& peer) {
  std::atomic<uint32_t>& count = counts_[BucketOf(peer)];
  uint32_t now = count.fetch_add(1, std::memory_order_relaxed);
  if (limit_ != 0 && now >= limit_) {
    count.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  return true;
}

void ConnectionLimiter::Release(const sockaddr_storage& peer) {
  uint32_t before = counts_[BucketOf(peer)].fetch_sub(1, std::memory_order_relaxed);
  CHECK_GT(before, 0u);
}

}  // namespace tern::net
