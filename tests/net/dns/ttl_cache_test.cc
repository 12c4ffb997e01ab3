// Tests of net/dns/ttl_cache.h: expiry, LRU eviction at the bound, replacement.
#include "net/dns/ttl_cache.h"

#include <string>

#include "gtest/gtest.h"

namespace tern::net::dns {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1000000);

TEST(TtlCache, EntryExpiresAtItsDeadline) {
  TtlCache<int> cache(10);
  cache.Put("a", 1, kT0 + absl::Seconds(5));
  ASSERT_NE(cache.Get("a", kT0 + absl::Seconds(4)), nullptr);
  EXPECT_EQ(*cache.Get("a", kT0), 1);
  EXPECT_EQ(cache.Get("a", kT0 + absl::Seconds(5)), nullptr);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(TtlCache, LeastRecentlyUsedIsEvictedAtTheBound) {
  TtlCache<int> cache(2);
  const absl::Time later = kT0 + absl::Hours(1);
  cache.Put("a", 1, later);
  cache.Put("b", 2, later);
  ASSERT_NE(cache.Get("a", kT0), nullptr);  // b is now the oldest
  cache.Put("c", 3, later);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_NE(cache.Get("a", kT0), nullptr);
  EXPECT_EQ(cache.Get("b", kT0), nullptr);
  EXPECT_NE(cache.Get("c", kT0), nullptr);
}

TEST(TtlCache, PutReplaces) {
  TtlCache<int> cache(2);
  cache.Put("a", 1, kT0 + absl::Seconds(1));
  cache.Put("a", 2, kT0 + absl::Seconds(10));
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(*cache.Get("a", kT0 + absl::Seconds(5)), 2);
}

TEST(TtlCache, ZeroBoundStoresNothing) {
  TtlCache<int> cache(0);
  cache.Put("a", 1, kT0 + absl::Seconds(10));
  EXPECT_EQ(cache.Get("a", kT0), nullptr);
}

}  // namespace
}  // namespace tern::net::dns
