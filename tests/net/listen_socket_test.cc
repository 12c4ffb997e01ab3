// Tests of net/listen_socket.h: address parsing and formatting, SO_REUSEPORT listeners.
#include "net/listen_socket.h"

#include <unistd.h>

#include "gtest/gtest.h"

namespace tern::net {
namespace {

TEST(ParseSocketAddress, AcceptsIpv4Ipv6AndLocalhost) {
  auto v4 = ParseSocketAddress("127.0.0.1:2525");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->port(), 2525);
  EXPECT_EQ(FormatSocketAddress(v4->storage), "127.0.0.1:2525");
  auto v6 = ParseSocketAddress("[::1]:25");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(FormatSocketAddress(v6->storage), "[::1]:25");
  auto local = ParseSocketAddress("localhost:0");
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(FormatIpAddress(local->storage), "127.0.0.1");
}

TEST(ParseSocketAddress, RejectsBadInput) {
  for (const char* bad : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "[::1:25",
                          "mail.example.com:25", ":25", "1.2.3.4:x"}) {
    EXPECT_FALSE(ParseSocketAddress(bad).ok()) << bad;
  }
}

TEST(OpenListener, TwoSocketsShareOnePortThroughReuseport) {
  auto address = ParseSocketAddress("127.0.0.1:0");
  ASSERT_TRUE(address.ok());
  auto first = OpenListener(*address, 16);
  ASSERT_TRUE(first.ok()) << first.status();
  auto port = BoundPort(*first);
  ASSERT_TRUE(port.ok());
  EXPECT_NE(*port, 0);
  address->set_port(*port);
  auto second = OpenListener(*address, 16);
  ASSERT_TRUE(second.ok()) << second.status();
  close(*first);
  close(*second);
}

}  // namespace
}  // namespace tern::net
