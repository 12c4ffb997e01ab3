// Tests of delivery/route_table.h.
#include "delivery/route_table.h"

#include "gtest/gtest.h"

namespace tern::delivery {
namespace {

TEST(ParseNexthop, Forms) {
  struct Case {
    const char* text;
    Nexthop want;
  } cases[] = {
      {"[127.0.0.1]:2526", {"127.0.0.1", 2526, false}},
      {"[127.0.0.1]", {"127.0.0.1", 25, false}},
      {"[::1]:25", {"::1", 25, false}},
      {"relay.example.net", {"relay.example.net", 25, true}},
      {"Relay.Example.NET:587", {"relay.example.net", 587, true}},
      {"[mx.example.net]:2525", {"mx.example.net", 2525, false}},
  };
  for (const Case& c : cases) {
    auto got = ParseNexthop(c.text);
    ASSERT_TRUE(got.ok()) << c.text << ": " << got.status();
    EXPECT_EQ(*got, c.want) << c.text;
  }
  for (const char* bad :
       {"", "[127.0.0.1", "[::1]x", "::1:25", "host:0", "host:70000", "host:x", "bad host", "[]"}) {
    EXPECT_FALSE(ParseNexthop(bad).ok()) << bad;
  }
}

TEST(RouteTable, ExactThenParentThenSmarthostThenMx) {
  auto table = RouteTable::Create(
      {"example.com=[127.0.0.1]:2526,.example.com=[127.0.0.2]:2527", ".b.example.com=mx.b.test"},
      "");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->Lookup("EXAMPLE.com"), (Nexthop{"127.0.0.1", 2526, false}));
  EXPECT_EQ(table->Lookup("a.example.com"), (Nexthop{"127.0.0.2", 2527, false}));
  EXPECT_EQ(table->Lookup("x.b.example.com"), (Nexthop{"mx.b.test", 25, true}));
  EXPECT_EQ(table->Lookup("b.example.com"), (Nexthop{"127.0.0.2", 2527, false}));
  EXPECT_EQ(table->Lookup("other.org"), (Nexthop{"other.org", 25, true}));

  auto with_smarthost = RouteTable::Create({}, "[10.0.0.5]:587");
  ASSERT_TRUE(with_smarthost.ok());
  EXPECT_EQ(with_smarthost->Lookup("other.org"), (Nexthop{"10.0.0.5", 587, false}));
}

TEST(RouteTable, RejectsBadEntries) {
  for (const char* bad :
       {"example.com", "=[127.0.0.1]", "example.com=", ".=[1.2.3.4]", "exa mple.com=[1.2.3.4]"}) {
    EXPECT_FALSE(RouteTable::Create({bad}, "").ok()) << bad;
  }
  EXPECT_FALSE(RouteTable::Create({}, "[1.2.3.4").ok());
}

}  // namespace
}  // namespace tern::delivery
