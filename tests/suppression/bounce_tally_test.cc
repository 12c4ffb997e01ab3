// Tests of suppression/bounce_tally.h and suppression/suppressed_reply.h: hard bounces counted
// per address up to the threshold, then forgotten; the wording of a suppressed recipient.
#include "suppression/bounce_tally.h"

#include "gtest/gtest.h"
#include "suppression/suppressed_reply.h"

namespace tern::suppression {
namespace {

TEST(BounceTally, OneIsEnoughWithoutCounting) {
  BounceTally tally;
  EXPECT_TRUE(tally.CountReaches("a@example.com", 1));
  EXPECT_EQ(tally.tracked(), 0u);
}

TEST(BounceTally, ReachesTheThresholdPerAddressThenStartsOver) {
  BounceTally tally;
  EXPECT_FALSE(tally.CountReaches("a@example.com", 3));
  EXPECT_FALSE(tally.CountReaches("b@example.com", 3));
  EXPECT_FALSE(tally.CountReaches("a@example.com", 3));
  EXPECT_TRUE(tally.CountReaches("a@example.com", 3));
  EXPECT_EQ(tally.tracked(), 1u) << "a@ forgotten once it reached 3, b@ still counted";
  EXPECT_FALSE(tally.CountReaches("a@example.com", 3)) << "counting starts over";
}

TEST(SuppressedReply, NamesTheAddressTheReasonAndTheDay) {
  EntryView entry;
  entry.reason = Reason::kComplaint;
  entry.created = 1'796'515'200;  // 2026-12-06T00:00:00Z
  EXPECT_EQ(SuppressedReply("Bob@Example.com", entry),
            "550 5.1.1 <Bob@Example.com>: recipient suppressed (complaint, 2026-12-06)");
}

}  // namespace
}  // namespace tern::suppression
