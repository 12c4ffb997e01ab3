// Tests of net/connection_limiter.h.
#include "net/connection_limiter.h"

#include "gtest/gtest.h"
#include "net/listen_socket.h"

namespace tern::net {
namespace {

sockaddr_storage Address(const char* text) {
  auto parsed = ParseSocketAddress(text);
  EXPECT_TRUE(parsed.ok());
  return parsed->storage;
}

TEST(ConnectionLimiter, LimitsPerAddressAndReleases) {
  ConnectionLimiter limiter(2);
  const sockaddr_storage a = Address("192.0.2.1:1000");
  const sockaddr_storage a_other_port = Address("192.0.2.1:2000");
  EXPECT_TRUE(limiter.TryAcquire(a));
  EXPECT_TRUE(limiter.TryAcquire(a_other_port));
  EXPECT_FALSE(limiter.TryAcquire(a));  // the port does not matter
  limiter.Release(a);
  EXPECT_TRUE(limiter.TryAcquire(a));
}

TEST(ConnectionLimiter, ZeroMeansUnlimited) {
  ConnectionLimiter limiter(0);
  const sockaddr_storage a = Address("[2001:db8::1]:25");
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(limiter.TryAcquire(a));
}

}  // namespace
}  // namespace tern::net
