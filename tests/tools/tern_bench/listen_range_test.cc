// ParseListenRange: `tern-bench sink --listen` with one address or a range of ports.
#include "tools/tern_bench/listen_range.h"

#include "gtest/gtest.h"

namespace tern::tools::tern_bench {
namespace {

TEST(ListenRangeTest, OneAddress) {
  absl::StatusOr<std::vector<net::SocketAddress>> a = ParseListenRange("127.0.0.1:2526");
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_EQ(a->size(), 1u);
  EXPECT_EQ(net::FormatSocketAddress((*a)[0].storage), "127.0.0.1:2526");
  a = ParseListenRange("127.0.0.1:0");  // the kernel picks
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ((*a)[0].port(), 0);
}

TEST(ListenRangeTest, RangeOfPorts) {
  absl::StatusOr<std::vector<net::SocketAddress>> a = ParseListenRange("127.0.0.1:41000-41003");
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_EQ(a->size(), 4u);
  EXPECT_EQ(net::FormatSocketAddress((*a)[0].storage), "127.0.0.1:41000");
  EXPECT_EQ(net::FormatSocketAddress((*a)[3].storage), "127.0.0.1:41003");
  a = ParseListenRange("[::1]:5000-5001");
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ(net::FormatSocketAddress((*a)[1].storage), "[::1]:5001");
  a = ParseListenRange("127.0.0.1:7-7");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->size(), 1u);
}

TEST(ListenRangeTest, RejectsBadRanges) {
  for (const char* bad :
       {"127.0.0.1:0-5", "127.0.0.1:10-9", "127.0.0.1:65535-65536", "127.0.0.1:1-x", "127.0.0.1:-5",
        "127.0.0.1:1000-9999", "nohost:1-2", "127.0.0.1"}) {
    EXPECT_FALSE(ParseListenRange(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace tern::tools::tern_bench
