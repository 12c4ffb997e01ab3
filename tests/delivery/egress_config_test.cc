// Tests of delivery/egress_config.h: the egress flags' grammar and every error naming its
// flag and value.
#include "delivery/egress_config.h"

#include <netinet/in.h>

#include "gtest/gtest.h"
#include "net/listen_socket.h"

namespace tern::delivery {
namespace {

EgressFlags TwoSources() {
  EgressFlags flags;
  flags.sources = {"ip1=127.0.0.2@mta1.example.com", "ip2=[::1]", "ip3=2001:db8::7"};
  return flags;
}

TEST(EgressConfig, ParsesSourcesPoolsAndSenderPools) {
  EgressFlags flags = TwoSources();
  // abseil splits list flags at commas: a pool's members may arrive as separate items.
  flags.pools = {"bulk=ip1:3", "ip2", "trans=ip3:0,ip1:1000"};
  flags.default_pool = "bulk";
  flags.sender_pools = {"News.Example.com=trans"};
  auto config = EgressConfig::Parse(flags);
  ASSERT_TRUE(config.ok()) << config.status();
  const EgressConfig& egress = **config;
  ASSERT_EQ(egress.sources().size(), 3u);
  EXPECT_EQ(egress.sources()[0].ehlo_name, "mta1.example.com");
  EXPECT_FALSE(egress.sources()[0].ipv6());
  EXPECT_EQ(net::FormatIpAddress(egress.sources()[0].address), "127.0.0.2");
  EXPECT_TRUE(egress.sources()[1].ipv6());
  EXPECT_EQ(egress.sources()[1].ehlo_name, "");
  EXPECT_EQ(net::FormatIpAddress(egress.sources()[2].address), "2001:db8::7");
  const EgressPool* bulk = egress.FindPool("bulk");
  ASSERT_NE(bulk, nullptr);
  ASSERT_EQ(bulk->members.size(), 2u);
  EXPECT_EQ(bulk->members[0].source_index, 0u);
  EXPECT_EQ(bulk->members[0].weight, 3u);
  EXPECT_EQ(bulk->members[1].source_index, 1u);
  EXPECT_EQ(bulk->members[1].weight, 1u);
  const EgressPool* trans = egress.FindPool("trans");
  ASSERT_NE(trans, nullptr);
  EXPECT_EQ(trans->members[0].weight, 0u);
  EXPECT_EQ(trans->members[1].weight, 1000u);
  EXPECT_EQ(egress.default_pool(), bulk);
  EXPECT_EQ(egress.SenderPool("news.EXAMPLE.com"), trans);
  EXPECT_EQ(egress.SenderPool("example.com"), nullptr);
  EXPECT_EQ(egress.pool_header(), "X-Tern-Pool");
  EXPECT_TRUE(egress.warnings().empty());
  EXPECT_EQ(egress.FindSource("ip2"), &egress.sources()[1]);
  EXPECT_EQ(egress.FindSource("nope"), nullptr);
}

TEST(EgressConfig, NothingConfiguredMeansNoPools) {
  auto config = EgressConfig::Parse(EgressFlags{});
  ASSERT_TRUE(config.ok());
  EXPECT_TRUE((*config)->no_pools());
  EXPECT_EQ((*config)->default_pool(), nullptr);
}

TEST(EgressConfig, AllWeightsZeroIsAWarning) {
  EgressFlags flags = TwoSources();
  flags.pools = {"drained=ip1:0,ip2:0"};
  auto config = EgressConfig::Parse(flags);
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ((*config)->warnings().size(), 1u);
  EXPECT_NE((*config)->warnings()[0].find("drained"), std::string::npos);
}

struct BadCase {
  const char* what;
  EgressFlags flags;
  const char* expected;  // substring of the error
};

TEST(EgressConfig, ErrorsNameFlagAndValue) {
  auto with = [](auto edit) {
    EgressFlags flags = TwoSources();
    edit(flags);
    return flags;
  };
  const BadCase cases[] = {
      {"bad ip", with([](EgressFlags& f) { f.sources.push_back("ip9=300.1.2.3"); }),
       "--egress_source=ip9=300.1.2.3: bad IP address '300.1.2.3'"},
      {"v4 in brackets", with([](EgressFlags& f) { f.sources.push_back("ip9=[127.0.0.1]"); }),
       "--egress_source=ip9=[127.0.0.1]: bad IP"},
      {"no =", with([](EgressFlags& f) { f.sources.push_back("127.0.0.1"); }),
       "--egress_source=127.0.0.1: want NAME=IP[@EHLO]"},
      {"bad ehlo", with([](EgressFlags& f) { f.sources.push_back("ip9=127.0.0.9@bad_name!"); }),
       "--egress_source=ip9=127.0.0.9@bad_name!: bad EHLO name 'bad_name!'"},
      {"empty ehlo", with([](EgressFlags& f) { f.sources.push_back("ip9=127.0.0.9@"); }),
       "bad EHLO name ''"},
      {"duplicate source", with([](EgressFlags& f) { f.sources.push_back("ip1=127.0.0.3"); }),
       "--egress_source=ip1=127.0.0.3: source 'ip1' defined twice"},
      {"bad source name", with([](EgressFlags& f) { f.sources.push_back("a b=127.0.0.3"); }),
       "bad source name 'a b'"},
      {"unknown source", with([](EgressFlags& f) { f.pools = {"bulk=ip1,ip7"}; }),
       "--egress_pool=bulk=ip1,ip7: unknown source 'ip7' in pool 'bulk'"},
      {"bad weight", with([](EgressFlags& f) { f.pools = {"bulk=ip1:1001"}; }),
       "--egress_pool=bulk=ip1:1001: bad weight '1001'"},
      {"negative weight", with([](EgressFlags& f) { f.pools = {"bulk=ip1:-1"}; }),
       "bad weight '-1'"},
      {"empty weight", with([](EgressFlags& f) { f.pools = {"bulk=ip1:"}; }), "bad weight ''"},
      {"duplicate pool", with([](EgressFlags& f) {
         f.pools = {"bulk=ip1", "bulk=ip2"};
       }),
       "--egress_pool=bulk=ip2: pool 'bulk' defined twice"},
      {"source twice in pool", with([](EgressFlags& f) { f.pools = {"bulk=ip1,ip1:2"}; }),
       "source 'ip1' twice in pool 'bulk'"},
      {"split by abseil", with([](EgressFlags& f) {
         f.pools = {"bulk=ip1", "ip7:2"};
       }),
       "--egress_pool=bulk=ip1,ip7:2: unknown source 'ip7' in pool 'bulk'"},
      {"member without pool", with([](EgressFlags& f) { f.pools = {"ip1"}; }),
       "--egress_pool=ip1: want POOL=NAME"},
      {"unknown default", with([](EgressFlags& f) { f.default_pool = "nope"; }),
       "--default_pool=nope: no such --egress_pool"},
      {"unknown sender pool", with([](EgressFlags& f) {
         f.pools = {"bulk=ip1"};
         f.sender_pools = {"example.com=nope"};
       }),
       "--sender_pool=example.com=nope: unknown pool 'nope'"},
      {"duplicate sender domain", with([](EgressFlags& f) {
         f.pools = {"bulk=ip1"};
         f.sender_pools = {"example.com=bulk", "EXAMPLE.com=bulk"};
       }),
       "domain 'example.com' listed twice"},
      {"bad header", with([](EgressFlags& f) { f.pool_header = "X Pool"; }),
       "--pool_header=X Pool: not a header field name"},
  };
  for (const BadCase& c : cases) {
    auto config = EgressConfig::Parse(c.flags);
    ASSERT_FALSE(config.ok()) << c.what;
    EXPECT_TRUE(absl::IsInvalidArgument(config.status())) << c.what;
    EXPECT_NE(config.status().message().find(c.expected), std::string::npos)
        << c.what << ": " << config.status().message();
  }
}

TEST(EgressConfig, EmptyPoolHeaderDisablesIt) {
  EgressFlags flags = TwoSources();
  flags.pools = {"bulk=ip1"};
  flags.pool_header = "";
  auto config = EgressConfig::Parse(flags);
  ASSERT_TRUE(config.ok());
  EXPECT_EQ((*config)->pool_header(), "");
}

}  // namespace
}  // namespace tern::delivery
