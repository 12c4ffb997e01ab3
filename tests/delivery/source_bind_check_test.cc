// Tests of delivery/source_bind_check.h against this host's real addresses.
#include "delivery/source_bind_check.h"

#include "gtest/gtest.h"

namespace tern::delivery {
namespace {

EgressSource Source(const std::string& item) {
  EgressFlags flags;
  flags.sources = {item};
  auto config = EgressConfig::Parse(flags);
  EXPECT_TRUE(config.ok()) << config.status();
  return (*config)->sources()[0];
}

TEST(CheckSourceBindable, LoopbackAddressBinds) {
  // All of 127.0.0.0/8 is on the loopback interface.
  EXPECT_TRUE(CheckSourceBindable(Source("ip2=127.0.0.2")).ok());
}

TEST(CheckSourceBindable, ForeignAddressNamesSourceAndAddress) {
  // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never an address of this host.
  const absl::Status status = CheckSourceBindable(Source("ip2=192.0.2.1"));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message(),
            "egress source ip2 (192.0.2.1): address not on this host (EADDRNOTAVAIL)");
}

}  // namespace
}  // namespace tern::delivery
