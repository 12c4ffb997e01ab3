// Tests of queue/queue_shape.h: age buckets, merging shards, top N, rendering.
#include "queue/queue_shape.h"

#include "gtest/gtest.h"

namespace tern::queue {
namespace {

TEST(QueueShape, BucketsAreQshapesMinuteColumns) {
  EXPECT_EQ(QueueShape::BucketOf(absl::ZeroDuration()), 0u);
  EXPECT_EQ(QueueShape::BucketOf(absl::Minutes(4) + absl::Seconds(59)), 0u);
  EXPECT_EQ(QueueShape::BucketOf(absl::Minutes(5)), 1u);
  EXPECT_EQ(QueueShape::BucketOf(absl::Minutes(19)), 2u);
  EXPECT_EQ(QueueShape::BucketOf(absl::Minutes(1279)), 8u);
  EXPECT_EQ(QueueShape::BucketOf(absl::Minutes(1280)), 9u);
  EXPECT_EQ(QueueShape::BucketOf(absl::Hours(24 * 30)), QueueShape::kBuckets - 1);
}

TEST(QueueShape, CountsMessagesPerDomainAndOnceInTotal) {
  QueueShape shard0;
  shard0.Add({"a.example", "b.example"}, absl::Minutes(1));
  shard0.Add({"a.example"}, absl::Minutes(30));
  QueueShape shard1;
  shard1.Add({"a.example"}, absl::Hours(48));
  shard1.Add({"c.example"}, absl::Minutes(7));
  QueueShape merged;
  merged.Merge(shard0);
  merged.Merge(shard1);
  EXPECT_EQ(merged.total().total, 4u);
  EXPECT_EQ(merged.total().counts[0], 1u);
  const std::vector<QueueShape::Row> rows = merged.Rows();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].domain, "a.example");
  EXPECT_EQ(rows[0].total, 3u);
  EXPECT_EQ(rows[0].counts[0], 1u);        // 1 minute
  EXPECT_EQ(rows[0].counts[3], 1u);        // 30 minutes: 20 to 40
  EXPECT_EQ(rows[0].counts[9], 1u);        // 2 days: 1280+
  EXPECT_EQ(rows[1].domain, "b.example");  // ties by name
  EXPECT_EQ(rows[2].domain, "c.example");
}

TEST(QueueShape, TruncateKeepsTheLargestAndSumsTheRestAsOther) {
  QueueShape shape;
  for (int i = 0; i < 3; ++i) shape.Add({"big.example"}, absl::Minutes(1));
  for (int i = 0; i < 2; ++i) shape.Add({"mid.example"}, absl::Minutes(1));
  shape.Add({"small1.example"}, absl::Minutes(1));
  shape.Add({"small2.example"}, absl::Minutes(100));
  shape.Truncate(2);
  const std::vector<QueueShape::Row> rows = shape.Rows();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].domain, "big.example");
  EXPECT_EQ(rows[1].domain, "mid.example");
  EXPECT_EQ(rows[2].domain, kShapeOtherDomain);
  EXPECT_EQ(rows[2].total, 2u);
  EXPECT_EQ(rows[2].counts[5], 1u);
  EXPECT_EQ(shape.total().total, 7u);
}

TEST(QueueShape, TextAndJson) {
  QueueShape shape;
  shape.Add({"a.example"}, absl::Minutes(1));
  const std::string text = ShapeText(shape);
  EXPECT_NE(text.find("T     5    10    20"), std::string::npos) << text;
  EXPECT_NE(text.find("1280+"), std::string::npos) << text;
  EXPECT_NE(text.find("TOTAL      1     1     0"), std::string::npos) << text;
  EXPECT_NE(text.find("a.example      1     1"), std::string::npos) << text;
  const std::string json = ShapeJson(shape);
  EXPECT_NE(json.find("\"unit\":\"messages\""), std::string::npos) << json;
  EXPECT_NE(json.find("{\"domain\":\"a.example\",\"total\":1,\"counts\":[1,0,0,0,0,0,0,0,0,0]}"),
            std::string::npos)
      << json;
  EXPECT_EQ(ShapeJsonLines(shape),
            "{\"domain\":\"TOTAL\",\"total\":1,\"counts\":[1,0,0,0,0,0,0,0,0,0]}\n"
            "{\"domain\":\"a.example\",\"total\":1,\"counts\":[1,0,0,0,0,0,0,0,0,0]}\n");
}

}  // namespace
}  // namespace tern::queue
