// Tests of tools/ternctl/delivery_report.h: totals, per-domain tables with their "other"
// row, grouped errors, delay percentiles, and the bounds on memory.
#include "tools/ternctl/delivery_report.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace tern::tools::ternctl {
namespace {

DeliveryLogEntry Event(LogEvent event, uint64_t id, std::string recipient, std::string reply = "",
                       int64_t delay_ms = -1, std::string sender = "s@shop.test") {
  DeliveryLogEntry e;
  e.time = absl::FromUnixSeconds(1796000000 + static_cast<int64_t>(id));
  e.event = event;
  e.queue_id = id;
  e.sender = std::move(sender);
  e.recipient = std::move(recipient);
  e.reply = std::move(reply);
  if (delay_ms >= 0) e.delay_ms = delay_ms;
  return e;
}

TEST(DeliveryReport, CountsEventsDomainsAndDistinctDeferredMessages) {
  DeliveryReport r;
  r.Add(Event(LogEvent::kReceived, 1, ""));
  r.Add(Event(LogEvent::kReceived, 2, "", "", -1, "news@Mail.Test"));
  r.Add(Event(LogEvent::kDelivered, 1, "a@one.test", "250 ok", 100));
  r.Add(Event(LogEvent::kDeferred, 2, "b@two.test", "451 4.7.1 later"));
  r.Add(Event(LogEvent::kDeferred, 2, "b@two.test", "451 4.7.1 later"));
  r.Add(Event(LogEvent::kBounced, 2, "b@two.test", "550 5.1.1 <b@two.test> unknown"));
  r.Add(Event(LogEvent::kExpired, 3, "c@two.test", "451 4.7.1 later"));
  r.AddSkipped();
  EXPECT_EQ(r.totals()[LogEvent::kReceived], 2u);
  EXPECT_EQ(r.totals()[LogEvent::kDelivered], 1u);
  EXPECT_EQ(r.totals()[LogEvent::kDeferred], 2u);
  EXPECT_EQ(r.deferred_messages(), 1u);
  EXPECT_EQ(r.totals()[LogEvent::kBounced], 1u);
  EXPECT_EQ(r.totals()[LogEvent::kExpired], 1u);
  EXPECT_EQ(r.skipped_lines(), 1u);

  auto recipients = r.RecipientDomains(10);
  ASSERT_EQ(recipients.size(), 2u);
  EXPECT_EQ(recipients[0].domain, "two.test");
  EXPECT_EQ(recipients[0].counts[LogEvent::kDeferred], 2u);
  EXPECT_EQ(recipients[0].counts[LogEvent::kBounced], 1u);
  EXPECT_EQ(recipients[1].domain, "one.test");
  EXPECT_EQ(recipients[1].counts[LogEvent::kDelivered], 1u);

  auto senders = r.SenderDomains(10);
  ASSERT_EQ(senders.size(), 2u);
  EXPECT_EQ(senders[0].domain, "shop.test");
  EXPECT_EQ(senders[1].domain, "mail.test");
  EXPECT_EQ(senders[1].counts[LogEvent::kReceived], 1u);
}

TEST(DeliveryReport, GroupsIdenticalErrorsWithTheirDomains) {
  DeliveryReport r;
  for (int i = 0; i < 5; ++i) {
    r.Add(Event(LogEvent::kDeferred, i, absl::StrCat("u", i, "@d", i % 2, ".test"),
                absl::StrCat("452 4.2.2 <u", i, "@x.test> over quota (", 1000 + i, " bytes)")));
  }
  r.Add(Event(LogEvent::kBounced, 9, "z@d0.test", "550 5.1.1 unknown"));
  auto errors = r.TopErrors(10);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].pattern, "452 4.2.2 <address> over quota (# bytes)");
  EXPECT_EQ(errors[0].count, 5u);
  EXPECT_EQ(errors[0].counts[LogEvent::kDeferred], 5u);
  ASSERT_EQ(errors[0].domains.size(), 2u);
  EXPECT_EQ(errors[0].domains[0], std::make_pair(std::string("d0.test"), uint64_t{3}));
  EXPECT_EQ(errors[0].example, "452 4.2.2 <u4@x.test> over quota (1004 bytes)");
  EXPECT_EQ(errors[1].pattern, "550 5.1.1 unknown");
  // With one row asked for, the second pattern is summed as "other".
  auto top1 = r.TopErrors(1);
  ASSERT_EQ(top1.size(), 2u);
  EXPECT_EQ(top1[1].pattern, DeliveryReport::kOther);
  EXPECT_EQ(top1[1].count, 1u);
}

TEST(DeliveryReport, TablesAreBoundedAndSumTheRestAsOther) {
  DeliveryReport r({.domains_tracked_max = 3,
                    .errors_tracked_max = 2,
                    .error_domains_max = 1,
                    .deferred_messages_max = 4});
  for (int i = 0; i < 10; ++i) {
    r.Add(Event(LogEvent::kDeferred, i, absl::StrCat("u@d", i, ".test"),
                absl::StrCat("451 pattern ", std::string(1, static_cast<char>('a' + i)))));
  }
  auto domains = r.RecipientDomains(2);
  ASSERT_EQ(domains.size(), 3u);
  EXPECT_EQ(domains[2].domain, DeliveryReport::kOther);
  EXPECT_EQ(domains[0].counts.total() + domains[1].counts.total() + domains[2].counts.total(), 10u);
  uint64_t errors = 0;
  for (const auto& e : r.TopErrors(100)) errors += e.count;
  EXPECT_EQ(errors, 10u);
  EXPECT_LE(r.TopErrors(100).size(), 3u);
  EXPECT_EQ(r.deferred_messages(), 4u);
  EXPECT_TRUE(r.deferred_messages_capped());
}

TEST(DelayHistogram, PercentilesWithinThreePercent) {
  DelayHistogram h;
  for (int64_t ms = 1; ms <= 100000; ++ms) h.Record(ms);
  EXPECT_EQ(h.max_ms(), 100000);
  for (double q : {0.5, 0.9, 0.99}) {
    const double truth = q * 100000;
    EXPECT_GE(h.Percentile(q), truth) << q;
    EXPECT_LE(h.Percentile(q), truth * 1.035) << q;
  }
  EXPECT_EQ(h.Percentile(1.0), 100000);
  DelayHistogram small;
  small.Record(7);
  EXPECT_EQ(small.Percentile(0.5), 7);
  EXPECT_EQ(DelayHistogram().Percentile(0.5), 0);
}

TEST(DelayHistogram, BucketsCoverEveryValue) {
  for (int64_t v : {int64_t{0}, int64_t{63}, int64_t{64}, int64_t{65}, int64_t{1} << 20,
                    (int64_t{1} << 42) + 5, INT64_MAX}) {
    const size_t b = DelayHistogram::BucketOf(v);
    ASSERT_LT(b, DelayHistogram::kBuckets) << v;
    if (v < (int64_t{1} << 43)) {
      EXPECT_GE(DelayHistogram::BucketUpperEdge(b), v);
    }
  }
}

}  // namespace
}  // namespace tern::tools::ternctl
