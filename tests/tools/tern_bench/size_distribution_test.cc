// SizeDistribution and ParseByteSize: the --size forms.
#include "tools/tern_bench/size_distribution.h"

#include <map>

#include "gtest/gtest.h"

namespace tern::tools::tern_bench {
namespace {

TEST(SizeDistributionTest, ParsesByteSizes) {
  EXPECT_EQ(*ParseByteSize("4096"), 4096u);
  EXPECT_EQ(*ParseByteSize("4k"), 4096u);
  EXPECT_EQ(*ParseByteSize("64K"), 65536u);
  EXPECT_EQ(*ParseByteSize("1m"), 1048576u);
  for (const char* bad : {"", "0", "k", "-1", "4x", "1g", "300m", "4 k"}) {
    EXPECT_FALSE(ParseByteSize(bad).ok()) << bad;
  }
}

TEST(SizeDistributionTest, FixedSize) {
  absl::StatusOr<SizeDistribution> d = SizeDistribution::Parse("4k");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->Pick(12345), 4096u);
  EXPECT_EQ(d->max_size(), 4096u);
  EXPECT_EQ(d->ToString(), "4096");
}

TEST(SizeDistributionTest, WeightedSizesAreDrawnInProportion) {
  absl::StatusOr<SizeDistribution> d = SizeDistribution::Parse("1k:3,64k:1");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->max_size(), 65536u);
  EXPECT_EQ(d->ToString(), "1024:3,65536:1");
  std::map<size_t, int> seen;
  for (uint64_t r = 0; r < 4000; ++r) ++seen[d->Pick(r)];
  EXPECT_EQ(seen[1024], 3000);
  EXPECT_EQ(seen[65536], 1000);
}

TEST(SizeDistributionTest, RejectsBadSpecs) {
  for (const char* bad : {"", ",", "1k:", "1k:0", "1k:x", "1k:1,", "x:1"}) {
    EXPECT_FALSE(SizeDistribution::Parse(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace tern::tools::tern_bench
