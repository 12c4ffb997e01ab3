// Tests of delivery/source_selector.h: smooth weighted round robin per (pool, site).
#include "delivery/source_selector.h"

#include <map>

#include "gtest/gtest.h"

namespace tern::delivery {
namespace {

std::shared_ptr<const EgressConfig> Config(std::vector<std::string> pools) {
  EgressFlags flags;
  flags.sources = {"a=127.0.0.2", "b=127.0.0.3", "c=127.0.0.4", "v6=::1"};
  flags.pools = std::move(pools);
  auto config = EgressConfig::Parse(flags);
  EXPECT_TRUE(config.ok()) << config.status();
  return *config;
}

bool Any(const EgressSource&) { return true; }

TEST(SourceSelector, TenThousandPicksFollowTheWeights) {
  auto config = Config({"p=a:1,b:2,c:7"});
  SourceSelector selector(config);
  const EgressPool& pool = *config->FindPool("p");
  std::map<std::string, int> counts;
  std::string previous;
  for (int i = 0; i < 10'000; ++i) {
    const EgressSource* source = selector.Pick(pool, "site1", Any);
    ASSERT_NE(source, nullptr);
    // The lightest source is never sent from twice in a row while heavier ones exist.
    if (source->name == "a") {
      EXPECT_NE(previous, "a") << "at pick " << i;
    }
    previous = source->name;
    ++counts[source->name];
  }
  const double expected[] = {0.1, 0.2, 0.7};
  const char* names[] = {"a", "b", "c"};
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(counts[names[i]] / 10'000.0, expected[i], 0.02 * expected[i]) << names[i];
  }
}

TEST(SourceSelector, InterleavesWithoutBursts) {
  auto config = Config({"p=a:1,b:2,c:7"});
  SourceSelector selector(config);
  std::string sequence;
  for (int i = 0; i < 10; ++i) {
    sequence += selector.Pick(*config->FindPool("p"), "s", Any)->name;
  }
  // nginx's smooth weighted round robin for 1:2:7; never more than 3 of c in a row.
  EXPECT_EQ(sequence, "cbccaccbcc");
  EXPECT_EQ(sequence.find("cccc"), std::string::npos);
}

TEST(SourceSelector, EachSiteHasItsOwnInterleave) {
  auto config = Config({"p=a:1,b:1"});
  SourceSelector selector(config);
  const EgressPool& pool = *config->FindPool("p");
  EXPECT_EQ(selector.Pick(pool, "site1", Any)->name, "a");
  EXPECT_EQ(selector.Pick(pool, "site2", Any)->name, "a");  // not b: site2 starts afresh
  EXPECT_EQ(selector.Pick(pool, "site1", Any)->name, "b");
  EXPECT_EQ(selector.state_count(), 2u);
}

TEST(SourceSelector, WeightZeroIsNeverPicked) {
  auto config = Config({"p=a:0,b:1,c:0", "drained=a:0"});
  SourceSelector selector(config);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(selector.Pick(*config->FindPool("p"), "s", Any)->name, "b");
  }
  EXPECT_EQ(selector.Pick(*config->FindPool("drained"), "s", Any), nullptr);
}

TEST(SourceSelector, SkipsUnusableSources) {
  auto config = Config({"p=a:5,v6:1,b:1"});
  SourceSelector selector(config);
  const EgressPool& pool = *config->FindPool("p");
  auto ipv6_only = [](const EgressSource& s) { return s.ipv6(); };
  auto ipv4_only = [](const EgressSource& s) { return !s.ipv6(); };
  for (int i = 0; i < 100; ++i) EXPECT_EQ(selector.Pick(pool, "s", ipv6_only)->name, "v6");
  std::map<std::string, int> counts;
  for (int i = 0; i < 600; ++i) ++counts[selector.Pick(pool, "s", ipv4_only)->name];
  EXPECT_EQ(counts["v6"], 0);
  EXPECT_EQ(counts["a"], 500);
  EXPECT_EQ(counts["b"], 100);
  EXPECT_EQ(selector.Pick(pool, "s", [](const EgressSource&) { return false; }), nullptr);
}

TEST(SourceSelector, StatesAreBoundedLeastRecentlyUsedFirst) {
  auto config = Config({"p=a:1,b:1"});
  SourceSelector selector(config, /*states_max=*/3);
  const EgressPool& pool = *config->FindPool("p");
  EXPECT_EQ(selector.Pick(pool, "s1", Any)->name, "a");
  selector.Pick(pool, "s2", Any);
  selector.Pick(pool, "s3", Any);
  EXPECT_EQ(selector.Pick(pool, "s1", Any)->name, "b");  // s1 kept its state; now newest
  selector.Pick(pool, "s4", Any);                        // evicts s2, the oldest
  EXPECT_EQ(selector.state_count(), 3u);
  EXPECT_EQ(selector.Pick(pool, "s1", Any)->name, "a");  // s1 survived
  EXPECT_EQ(selector.Pick(pool, "s2", Any)->name, "a");  // s2 starts afresh
  EXPECT_EQ(selector.state_count(), 3u);
  for (int i = 0; i < 1000; ++i) selector.Pick(pool, "site" + std::to_string(i), Any);
  EXPECT_EQ(selector.state_count(), 3u);
}

}  // namespace
}  // namespace tern::delivery
