// Tests of net/listen_socket.h: address parsing and formatting, SO_REUSEPORT listeners.
#include "net/listen_socket.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
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

TEST(ProbeListenAddress, ARunningReuseportListenerDoesNotCount) {
  auto address = ParseSocketAddress("127.0.0.1:0");
  ASSERT_TRUE(address.ok());
  auto listener = OpenListener(*address, 16);
  ASSERT_TRUE(listener.ok()) << listener.status();
  address->set_port(*BoundPort(*listener));
  EXPECT_TRUE(ProbeListenAddress(*address).ok());
  close(*listener);
}

TEST(ProbeListenAddress, APortHeldByAnotherProgramIsNamed) {
  // A socket without SO_REUSEPORT, as most programs bind.
  const int other = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(other, 0);
  auto address = ParseSocketAddress("127.0.0.1:0");
  ASSERT_TRUE(address.ok());
  ASSERT_EQ(bind(other, reinterpret_cast<const sockaddr*>(&address->storage), address->length), 0);
  address->set_port(*BoundPort(other));
  const absl::Status probe = ProbeListenAddress(*address);
  EXPECT_EQ(probe.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(probe.message(), absl::StrCat("bind 127.0.0.1:", address->port(),
                                          ": in use by another program or user (Address "
                                          "already in use)"));
  EXPECT_FALSE(OpenListener(*address, 16).ok());
  close(other);
}

TEST(ProbeListenAddress, AnAddressOfAnotherHostIsNamed) {
  auto address = ParseSocketAddress("192.0.2.1:0");  // TEST-NET-1 (RFC 5737)
  ASSERT_TRUE(address.ok());
  const absl::Status probe = ProbeListenAddress(*address);
  EXPECT_FALSE(probe.ok());
  EXPECT_NE(probe.message().find("not an address of this host"), absl::string_view::npos) << probe;
}

}  // namespace
}  // namespace tern::net
