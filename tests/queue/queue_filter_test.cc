// ternctl's selection on ternd's side: QueueFilter (queue/queue_filter.h) over real queue
// entries.
#include "queue/queue_filter.h"

#include "gtest/gtest.h"
#include "spool/message_record.h"
#include "spool/record_format.h"

namespace tern::queue {
namespace {

// An entry as the index keeps it, from a real MESSAGE record.
spool::QueueEntry Entry(absl::string_view sender, std::vector<std::string> recipients,
                        absl::Time received, bool held = false) {
  std::vector<spool::RecipientEnvelope> rcpts;
  for (const std::string& r : recipients) rcpts.push_back({.address = r});
  spool::MessageEnvelope envelope;
  envelope.sender = sender;
  envelope.received_unix_us = absl::ToUnixMicros(received);
  envelope.schedule.held = held;
  envelope.recipients = rcpts;
  core::ByteBuffer record;
  EXPECT_TRUE(spool::BeginMessageRecord(1, envelope, &record).ok());
  spool::MessageRecordView message;
  EXPECT_TRUE(message.Parse(record.view().substr(spool::kRecordHeaderBytes)));
  return spool::QueueEntry::FromMessage({}, message);
}

absl::StatusOr<QueueFilter> Filter(absl::string_view query) {
  return QueueFilter::FromQuery(net::ParseQuery(query));
}

bool Matches(absl::string_view query, const spool::QueueEntry& e, absl::Time now) {
  absl::StatusOr<QueueFilter> f = Filter(query);
  EXPECT_TRUE(f.ok()) << f.status();
  return f->Matches(e, now, StateOf(e, false));
}

TEST(QueueFilterTest, DomainSenderRecipientAndAge) {
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  const spool::QueueEntry e =
      Entry("Alice@One.Test", {"bob@Example.com", "carol@sub.example.com"}, now - absl::Hours(2));
  EXPECT_TRUE(Matches("", e, now));
  EXPECT_TRUE(Matches("domain=example.com", e, now));
  EXPECT_TRUE(Matches("domain=EXAMPLE.COM", e, now));
  EXPECT_FALSE(Matches("domain=ample.com", e, now));
  EXPECT_TRUE(Matches("domain=.example.com", e, now));
  EXPECT_FALSE(Matches("domain=sub.example.org", e, now));
  EXPECT_TRUE(Matches("sender=alice%40one", e, now));
  EXPECT_FALSE(Matches("sender=%3C%3E", e, now));
  EXPECT_TRUE(Matches("recipient=CAROL", e, now));
  EXPECT_TRUE(Matches("domain=sub.example.com&recipient=carol", e, now));
  EXPECT_FALSE(Matches("domain=sub.example.com&recipient=bob", e, now));
  EXPECT_TRUE(Matches("min_age=3600", e, now));
  EXPECT_FALSE(Matches("min_age=10800", e, now));
  EXPECT_FALSE(Matches("max_age=3600", e, now));
  EXPECT_TRUE(Matches("state=queued", e, now));
  EXPECT_FALSE(Matches("state=deferred", e, now));
  EXPECT_TRUE(Matches("sender=%3C%3E", Entry("", {"x@y.test"}, now), now));
}

TEST(QueueFilterTest, FinishedRecipientsDoNotMatch) {
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  spool::QueueEntry e = Entry("a@b.test", {"done@example.com", "left@example.org"}, now);
  ASSERT_TRUE(e.ApplyResult(0, spool::RecipientState::kDelivered, 1, 0));
  EXPECT_FALSE(Matches("domain=example.com", e, now));
  EXPECT_TRUE(Matches("domain=example.org", e, now));
  EXPECT_EQ(StateOf(e, false), MessageState::kDeferred);
  EXPECT_EQ(StateOf(e, true), MessageState::kActive);
  EXPECT_EQ(StateOf(Entry("a@b.test", {"x@y.test"}, now, /*held=*/true), false),
            MessageState::kHeld);
}

TEST(QueueFilterTest, BadParametersAreNamed) {
  EXPECT_EQ(Filter("state=sleeping").status().message(),
            "state: 'sleeping' is not one of queued, deferred, held, active");
  EXPECT_EQ(Filter("min_age=-1").status().message(), "min_age: not a number of seconds");
  EXPECT_EQ(Filter("id=XYZ").status().message(), "id: 'XYZ' is not a queue id");
  EXPECT_FALSE(Filter("id=00000000000000001").ok());  // 17 digits
  absl::StatusOr<QueueFilter> ids = Filter("id=0000000100000002&id=abc");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->ids, (std::vector<uint64_t>{0x100000002, 0xabc}));
  EXPECT_FALSE(ids->everything());
  EXPECT_TRUE(Filter("format=text&limit=5")->everything());
  EXPECT_EQ(FormatQueueId(0xabc), "0000000000000ABC");
}

}  // namespace
}  // namespace tern::queue
