// Tests of tools/ternd/queue_report.h: the last reply under a deferred recipient, JSON Lines,
// a hold's end.
#include "tools/ternd/queue_report.h"

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace tern::tools::ternd {

using queue::MessageState;
using queue::QueueListing;
using queue::QueueRow;

namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

QueueListing Listing() {
  QueueListing listing;
  listing.matched = 2;
  QueueRow deferred{.id = 2,
                    .received_unix_us = absl::ToUnixMicros(kNow - absl::Minutes(12)),
                    .size = 642,
                    .state = MessageState::kDeferred,
                    .attempts = 2,
                    .sender = "sender@example.com"};
  deferred.recipients.push_back({.address = "user@slow.example",
                                 .state = spool::RecipientState::kDeferred,
                                 .last_reply = "mx.slow.example said: 451 4.7.1 greylisted"});
  deferred.recipients.push_back(
      {.address = "done@fast.example", .state = spool::RecipientState::kDelivered});
  QueueRow held{.id = 1,
                .received_unix_us = absl::ToUnixMicros(kNow),
                .state = MessageState::kHeld,
                .held_until_unix_us = absl::ToUnixMicros(kNow + absl::Hours(2)),
                .sender = ""};
  held.recipients.push_back({.address = "x@example.com"});
  listing.rows = {held, deferred};
  return listing;
}

TEST(QueueReport, TextShowsTheLastReplyUnderItsRecipient) {
  const std::string text = QueueText({Listing()}, 100, 2, 642, kNow);
  const std::vector<std::string> lines = absl::StrSplit(text, '\n');
  size_t at = 0;
  while (at < lines.size() && lines[at].find("user@slow.example (deferred)") == std::string::npos) {
    ++at;
  }
  ASSERT_LT(at + 1, lines.size()) << text;
  EXPECT_EQ(lines[at + 1], std::string(54, ' ') + "(mx.slow.example said: 451 4.7.1 greylisted)");
  EXPECT_NE(lines[at + 2].find("done@fast.example (delivered)"), std::string::npos) << text;
  EXPECT_NE(text.find("(held until 2027-01-15T10:00:00Z)"), std::string::npos) << text;
}

TEST(QueueReport, JsonLinesHasOneMessagePerLine) {
  const std::string out = QueueJsonLines({Listing()}, 100, kNow);
  const std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << out;
  EXPECT_EQ(lines[0].rfind("{\"id\":\"0000000000000001\"", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find("\"held_until\":\"2027-01-15T10:00:00Z\""), std::string::npos);
  EXPECT_NE(lines[1].find("\"last_reply\":\"mx.slow.example said: 451 4.7.1 greylisted\""),
            std::string::npos)
      << lines[1];
  EXPECT_EQ(lines[1].back(), '}');
}

}  // namespace
}  // namespace tern::tools::ternd
