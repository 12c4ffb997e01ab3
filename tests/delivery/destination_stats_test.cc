// DestinationStats and DestinationStatsBook: `ternctl stats`'s results per destination
// (counts per outcome, the last error, results in the last whole minute), bounded in
// destinations and in the recent failures kept.
#include "delivery/destination_stats.h"

#include <deque>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace tern::delivery {
namespace {

TEST(DestinationStatsTest, TheLastWholeMinuteCounts) {
  DestinationStats stats;
  stats.RollToMinute(100);
  stats.results_this_minute = 7;
  stats.RollToMinute(100);  // same minute: nothing moves
  EXPECT_EQ(stats.results_this_minute, 7u);
  EXPECT_EQ(stats.results_last_minute, 0u);
  stats.RollToMinute(101);
  EXPECT_EQ(stats.results_last_minute, 7u);
  EXPECT_EQ(stats.results_this_minute, 0u);
  stats.results_this_minute = 3;
  stats.RollToMinute(105);  // minutes without a result in between
  EXPECT_EQ(stats.results_last_minute, 0u);
  EXPECT_EQ(stats.minute, 105);
}

TEST(DestinationStatsBookTest, ThrottledTimeAddsUpPerDestination) {
  DestinationStatsBook book;
  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  book.NoteThrottled("mx:example.com:25@ip2", "example.com (MX) from ip2", absl::Milliseconds(250));
  book.NoteThrottled("mx:example.com:25@ip2", "", absl::Milliseconds(1500));
  book.NoteThrottled("mx:example.com:25@ip3", "example.com (MX) from ip3", absl::Milliseconds(5));
  std::vector<std::string> keys;
  std::vector<DestinationStats> rows = book.Rows(now, &keys);
  ASSERT_EQ(rows.size(), 2u);
  for (size_t i = 0; i < rows.size(); ++i) {
    if (keys[i] == "mx:example.com:25@ip2") {
      EXPECT_EQ(rows[i].throttled_ms, 1750u);
      EXPECT_EQ(rows[i].name, "example.com (MX) from ip2");
      EXPECT_EQ(rows[i].delivered + rows[i].deferred + rows[i].bounced, 0u);
    } else {
      EXPECT_EQ(rows[i].throttled_ms, 5u);
    }
  }
}

TEST(DestinationStatsBookTest, CountsEachOutcome) {
  DestinationStatsBook book;
  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  book.NoteResult("mx:example.com:25", "example.com (MX)", net::smtp::DeliveryOutcome::kDelivered,
                  "250 2.0.0 ok", now);
  book.NoteResult("mx:example.com:25", "ignored: named when first seen",
                  net::smtp::DeliveryOutcome::kDelivered, "250 2.0.0 ok", now);
  book.NoteResult("mx:example.com:25", "", net::smtp::DeliveryOutcome::kTempFailed,
                  "451 4.3.0 try later", now);
  book.NoteResult("mx:example.com:25", "", net::smtp::DeliveryOutcome::kPermFailed,
                  "550 5.1.1 no such user", now);
  book.NoteResult("host:127.0.0.1:2600", "[127.0.0.1]:2600",
                  net::smtp::DeliveryOutcome::kTempFailed, "421 4.7.0 slow down", now);
  EXPECT_EQ(book.size(), 2u);
  EXPECT_TRUE(book.Contains("mx:example.com:25"));
  EXPECT_FALSE(book.Contains("mx:example.org:25"));

  std::vector<std::string> keys;
  const std::vector<DestinationStats> rows = book.Rows(now, &keys);
  ASSERT_EQ(rows.size(), 2u);
  ASSERT_EQ(keys.size(), 2u);
  const size_t mx = keys[0] == "mx:example.com:25" ? 0 : 1;
  EXPECT_EQ(keys[mx], "mx:example.com:25");
  EXPECT_EQ(keys[1 - mx], "host:127.0.0.1:2600");
  EXPECT_EQ(rows[mx].name, "example.com (MX)");
  EXPECT_EQ(rows[mx].delivered, 2u);
  EXPECT_EQ(rows[mx].deferred, 1u);
  EXPECT_EQ(rows[mx].bounced, 1u);
  EXPECT_EQ(rows[mx].results_this_minute, 4u);
  EXPECT_EQ(rows[mx].last_error, "550 5.1.1 no such user");
  EXPECT_EQ(rows[mx].last_error_at, now);
  EXPECT_EQ(rows[1 - mx].name, "[127.0.0.1]:2600");
  EXPECT_EQ(rows[1 - mx].delivered, 0u);
  EXPECT_EQ(rows[1 - mx].deferred, 1u);
  EXPECT_EQ(rows[1 - mx].bounced, 0u);
  EXPECT_EQ(rows[1 - mx].last_error, "421 4.7.0 slow down");
}

TEST(DestinationStatsBookTest, LastErrorOnlyFromFailures) {
  DestinationStatsBook book;
  const absl::Time t0 = absl::FromUnixSeconds(1'700'000'000);
  book.NoteResult("k", "n", net::smtp::DeliveryOutcome::kDelivered, "250 2.0.0 ok", t0);
  std::vector<std::string> keys;
  std::vector<DestinationStats> rows = book.Rows(t0, &keys);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].last_error, "");
  EXPECT_EQ(rows[0].last_error_at, absl::InfinitePast());

  book.NoteResult("k", "n", net::smtp::DeliveryOutcome::kTempFailed, "451 4.4.1 refused", t0);
  book.NoteResult("k", "n", net::smtp::DeliveryOutcome::kDelivered, "250 2.0.0 ok",
                  t0 + absl::Seconds(5));
  rows = book.Rows(t0 + absl::Seconds(5), &keys);
  EXPECT_EQ(rows[0].last_error, "451 4.4.1 refused") << "a delivery does not clear it";
  EXPECT_EQ(rows[0].last_error_at, t0);
}

TEST(DestinationStatsBookTest, LastErrorKeptOnACharacterBoundary) {
  DestinationStatsBook book;
  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  // 299 ASCII bytes, then a 2-byte character that would straddle the 300-byte limit.
  const std::string reply =
      std::string(DestinationStatsBook::kReplyBytesKept - 1, 'x') + "\xC3\xA9" + "tail";
  book.NoteResult("k", "n", net::smtp::DeliveryOutcome::kPermFailed, reply, now);
  std::vector<std::string> keys;
  const std::vector<DestinationStats> rows = book.Rows(now, &keys);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].last_error, std::string(DestinationStatsBook::kReplyBytesKept - 1, 'x'));

  // Exactly at the limit: kept whole.
  const std::string fits = std::string(DestinationStatsBook::kReplyBytesKept - 2, 'y') + "\xC3\xA9";
  book.NoteResult("k", "n", net::smtp::DeliveryOutcome::kTempFailed, fits + "more", now);
  EXPECT_EQ(book.Rows(now, &keys)[0].last_error, fits);
}

TEST(DestinationStatsBookTest, AtMostDestinationsMaxCounted) {
  DestinationStatsBook book;
  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  for (size_t i = 0; i < DestinationStatsBook::kDestinationsMax; ++i) {
    book.NoteResult(absl::StrCat("mx:d", i, ".test:25"), "d",
                    net::smtp::DeliveryOutcome::kDelivered, "250 ok", now);
  }
  EXPECT_EQ(book.size(), DestinationStatsBook::kDestinationsMax);
  book.NoteResult("mx:one-too-many.test:25", "d", net::smtp::DeliveryOutcome::kTempFailed, "451 x",
                  now);
  EXPECT_EQ(book.size(), DestinationStatsBook::kDestinationsMax);
  EXPECT_FALSE(book.Contains("mx:one-too-many.test:25"));
  // One already counted still counts.
  book.NoteResult("mx:d0.test:25", "d", net::smtp::DeliveryOutcome::kTempFailed, "451 x", now);
  std::vector<std::string> keys;
  const std::vector<DestinationStats> rows = book.Rows(now, &keys);
  ASSERT_EQ(rows.size(), DestinationStatsBook::kDestinationsMax);
  uint64_t deferred = 0;
  for (const DestinationStats& row : rows) deferred += row.deferred;
  EXPECT_EQ(deferred, 1u);
}

TEST(DestinationStatsBookTest, RecentFailuresKeepTheLastOnes) {
  DestinationStatsBook book;
  const absl::Time t0 = absl::FromUnixSeconds(1'700'000'000);
  constexpr uint64_t kNoted = DestinationStatsBook::kRecentFailuresKept + 10;
  for (uint64_t i = 1; i <= kNoted; ++i) {
    book.NoteFailure({.at = t0 + absl::Seconds(i),
                      .queue_id = i,
                      .recipient = "bob@example.net",
                      .result = "deferred",
                      .reply = std::string(500, 'r'),
                      .destination = "mx.example.net"});
  }
  const std::deque<RecentFailure>& kept = book.recent_failures();
  ASSERT_EQ(kept.size(), DestinationStatsBook::kRecentFailuresKept);
  EXPECT_EQ(kept.front().queue_id, kNoted - DestinationStatsBook::kRecentFailuresKept + 1);
  EXPECT_EQ(kept.back().queue_id, kNoted);
  for (size_t i = 1; i < kept.size(); ++i) {
    EXPECT_EQ(kept[i].queue_id, kept[i - 1].queue_id + 1) << "in the order noted";
  }
  EXPECT_EQ(kept.back().reply.size(), DestinationStatsBook::kReplyBytesKept);
  EXPECT_EQ(kept.back().result, "deferred");
}

TEST(DestinationStatsBookTest, RowsRollTheMinutes) {
  DestinationStatsBook book;
  const absl::Time minute = absl::FromUnixSeconds(1'700'000'000 / 60 * 60);  // a minute's start
  for (int i = 0; i < 3; ++i) {
    book.NoteResult("k", "n", net::smtp::DeliveryOutcome::kDelivered, "250 ok",
                    minute + absl::Seconds(10 * i));
  }
  std::vector<std::string> keys;
  std::vector<DestinationStats> rows = book.Rows(minute + absl::Seconds(59), &keys);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].results_this_minute, 3u);
  EXPECT_EQ(rows[0].results_last_minute, 0u);

  rows = book.Rows(minute + absl::Seconds(61), &keys);  // the next minute
  EXPECT_EQ(rows[0].results_last_minute, 3u);
  EXPECT_EQ(rows[0].results_this_minute, 0u);

  rows = book.Rows(minute + absl::Seconds(150), &keys);  // two minutes on: nothing since
  EXPECT_EQ(rows[0].results_last_minute, 0u);
  EXPECT_EQ(rows[0].results_this_minute, 0u);

  // Rows() is a view: the book itself did not move; a result in the next minute does.
  book.NoteResult("k", "n", net::smtp::DeliveryOutcome::kTempFailed, "451 x",
                  minute + absl::Seconds(70));
  rows = book.Rows(minute + absl::Seconds(70), &keys);
  EXPECT_EQ(rows[0].results_last_minute, 3u);
  EXPECT_EQ(rows[0].results_this_minute, 1u);
}

}  // namespace
}  // namespace tern::delivery
