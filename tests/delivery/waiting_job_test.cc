// WaitingJob (delivery/waiting_job.h): a job taken from its lane is the job that waited
// there, but for what the lane gives again (labels, retry schedule) and the Message-ID.
#include "delivery/waiting_job.h"

#include <string>

#include "gtest/gtest.h"

namespace tern::delivery {
namespace {

TEST(WaitingJob, TakeGivesBackTheJobThatWaited) {
  const std::string pool = "bulk";
  DeliveryJob job{.queue_id = 42, .recipients = {0, 3, 5, 6, 9}, .attempt = 3, .generation = 7};
  job.pool = pool;
  job.throttled_since = absl::FromUnixMicros(1'800'000'000'123'456);
  job.throttled = absl::Milliseconds(2500);
  job.stale_retry_done = true;
  job.labels = std::make_shared<const LaneLabels>();
  job.message_id = "<m@example>";
  DeliveryJob back = WaitingJob::From(job, &pool).Take();
  EXPECT_EQ(back.queue_id, 42u);
  EXPECT_EQ(back.recipients, job.recipients);  // more than kept inline, too
  EXPECT_EQ(back.attempt, 3u);
  EXPECT_EQ(back.generation, 7u);
  EXPECT_EQ(back.pool, "bulk");
  EXPECT_EQ(back.throttled_since, job.throttled_since);
  EXPECT_EQ(back.throttled, absl::Milliseconds(2500));
  EXPECT_TRUE(back.stale_retry_done);
  EXPECT_EQ(back.labels, nullptr) << "the lane gives its labels again";
  EXPECT_EQ(back.message_id, "") << "known again once read";
}

TEST(WaitingJob, NeverThrottledAndWithoutPoolStaysSo) {
  DeliveryJob job{.queue_id = 1, .recipients = {0}};
  const WaitingJob waiting = WaitingJob::From(job, nullptr);
  EXPECT_EQ(waiting.throttled_since_us, WaitingJob::kNotThrottled);
  DeliveryJob back = WaitingJob(waiting).Take();
  EXPECT_EQ(back.throttled_since, absl::InfinitePast());
  EXPECT_EQ(back.throttled, absl::ZeroDuration());
  EXPECT_EQ(back.pool, "");
}

}  // namespace
}  // namespace tern::delivery
