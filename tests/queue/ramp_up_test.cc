// RampUp (queue/ramp_up.h): the step at each moment after an override ends, and the options
// scaled by it.
#include "queue/ramp_up.h"

#include "gtest/gtest.h"

namespace tern::queue {
namespace {

TEST(RampUp, FourStepsOverAnHour) {
  const RampUp ramp{4, absl::Hours(1)};
  EXPECT_EQ(ramp.StepAt(-absl::Minutes(5)), 1u);
  EXPECT_EQ(ramp.StepAt(absl::ZeroDuration()), 1u);
  EXPECT_EQ(ramp.StepAt(absl::Minutes(14)), 1u);
  EXPECT_EQ(ramp.StepAt(absl::Minutes(15)), 2u);
  EXPECT_EQ(ramp.StepAt(absl::Minutes(30)), 3u);
  EXPECT_EQ(ramp.StepAt(absl::Minutes(44)), 3u);
  EXPECT_EQ(ramp.StepAt(absl::Minutes(45)), 4u);
  EXPECT_EQ(ramp.StepAt(absl::Hours(5)), 4u);
}

TEST(RampUp, ScaleRatesAndConnectionLimit) {
  ShapingOptions options;
  options.max_message_rate = RateSpec{3000, absl::Minutes(1), 3000};
  options.max_connection_rate = RateSpec{10, absl::Seconds(1), 2};
  options.connection_limit = 40;
  options.max_deliveries_per_connection = 100;
  const ShapingOptions quarter = RampUp::Scale(options, 1, 4);
  EXPECT_EQ(quarter.max_message_rate, (RateSpec{750, absl::Minutes(1), 750}));
  EXPECT_EQ(quarter.max_connection_rate, (RateSpec{2, absl::Seconds(1), 1}));  // burst ≥ 1
  EXPECT_EQ(quarter.connection_limit, 10u);
  EXPECT_EQ(quarter.max_deliveries_per_connection, 100u);  // not a rate
  const ShapingOptions three_quarters = RampUp::Scale(options, 3, 4);
  EXPECT_EQ(three_quarters.max_message_rate->count, 2250u);
  EXPECT_EQ(RampUp::Scale(options, 4, 4), options);
  // Unlimited stays unlimited; tiny values stay at least 1.
  ShapingOptions small;
  small.connection_limit = 1;
  const ShapingOptions scaled = RampUp::Scale(small, 1, 10);
  EXPECT_EQ(scaled.connection_limit, 1u);
  EXPECT_FALSE(scaled.max_message_rate.has_value());
}

}  // namespace
}  // namespace tern::queue
