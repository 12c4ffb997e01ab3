// ShardSpool delivery state on the real ring and real files: results update the index and
// survive reopen; finished messages leave and stay gone; unknown ids are refused or ignored;
// ReadMessage returns the stored bytes, before and after reopen, and DataLoss on damage.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "spool/recovery.h"
#include "spool/shard_spool.h"
#include "spool/testing/fault_injecting_storage.h"
#include "tests/spool/spool_fixture.h"

namespace tern::spool {
namespace {

using testing::Body;
using testing::MessageRecord;
using testing::SpoolFixture;

class DeliveryStateTest : public SpoolFixture {};

constexpr int64_t kNextAttempt = 1'800'000'000'000'000;

TEST_F(DeliveryStateTest, ResultsUpdateTheIndexAndSurviveReopen) {
  uint64_t a = 0, b = 0, c = 0;
  {
    auto loop = NewLoop();
    auto spool = Open(loop.get(), Options());
    a = Commit(spool.get(), Body(1));
    b = Commit(spool.get(), Body(2));
    c = Commit(spool.get(), Body(3));
    Run(loop.get(), spool.get(),
        {[&] { return committed_.size() == 3; },
         [&] {
           Record(spool.get(), a,
                  {Result(0, RecipientState::kDeferred, 2, kNextAttempt),
                   Result(1, RecipientState::kDelivered, 2)});
           Record(spool.get(), b, {Result(1, RecipientState::kBounced, 1)});
           spool->SetHeld(c, true, [&](absl::Status s) { recorded_.push_back(s); });
           return true;
         },
         [&] { return recorded_.size() == 3; }});
    const QueueEntry* ea = spool->index().Find(a);
    ASSERT_NE(ea, nullptr);
    EXPECT_EQ(ea->recipient_state(0), RecipientState::kDeferred);
    EXPECT_EQ(ea->recipient_state(1), RecipientState::kDelivered);
    EXPECT_EQ(ea->attempts(), 2u);
    EXPECT_EQ(ea->next_attempt_unix_us(), kNextAttempt);
    EXPECT_TRUE(spool->index().Find(c)->held());
    EXPECT_EQ(spool->counters().state_records.load(), 4u);
  }
  auto loop = NewLoop();
  auto spool = Open(loop.get(), Options());
  EXPECT_EQ(spool->recovery_stats().state_records, 4u);
  EXPECT_EQ(spool->index().count(), 3u);
  const QueueEntry* ea = spool->index().Find(a);
  ASSERT_NE(ea, nullptr);
  EXPECT_EQ(ea->recipient_state(0), RecipientState::kDeferred);
  EXPECT_EQ(ea->recipient_state(1), RecipientState::kDelivered);
  EXPECT_EQ(ea->attempts(), 2u);
  EXPECT_EQ(ea->next_attempt_unix_us(), kNextAttempt);
  EXPECT_FALSE(ea->held());
  const QueueEntry* eb = spool->index().Find(b);
  ASSERT_NE(eb, nullptr);
  EXPECT_EQ(eb->recipient_state(0), RecipientState::kPending);
  EXPECT_EQ(eb->recipient_state(1), RecipientState::kBounced);
  EXPECT_EQ(eb->attempts(), 1u);
  EXPECT_TRUE(spool->index().Find(c)->held());
  // RELEASE after reopen, and an expiry: both survive another reopen.
  recorded_.clear();
  Run(loop.get(), spool.get(),
      {[&] {
         spool->SetHeld(c, false, [&](absl::Status s) { recorded_.push_back(s); });
         Record(spool.get(), b, {Result(0, RecipientState::kExpired, 5)});
         return true;
       },
       [&] { return recorded_.size() == 2; }});
  EXPECT_FALSE(spool->index().Find(c)->held());
  EXPECT_EQ(spool->index().Find(b), nullptr);  // bounced + expired: finished
  spool.reset();
  auto loop2 = NewLoop();
  auto again = Open(loop2.get(), Options());
  EXPECT_FALSE(again->index().Find(c)->held());
  EXPECT_EQ(again->index().Find(b), nullptr);
  EXPECT_NE(again->index().Find(a), nullptr);
  Run(loop2.get(), again.get(), {});
}

TEST_F(DeliveryStateTest, FinishedMessagesLeaveTheIndexAndStayGone) {
  std::vector<uint64_t> finished;
  uint64_t a = 0, b = 0;
  {
    auto loop = NewLoop();
    auto spool = Open(loop.get(), Options());
    spool->set_on_finished([&](uint64_t id, const QueueEntry& entry) {
      finished.push_back(id);
      EXPECT_EQ(entry.recipient_state(0), RecipientState::kDelivered);
      EXPECT_EQ(entry.recipient_state(1), RecipientState::kBounced);
    });
    a = Commit(spool.get(), Body(1));
    b = Commit(spool.get(), Body(2));
    Run(loop.get(), spool.get(),
        {[&] { return committed_.size() == 2; },
         [&] {
           // One call finishing a, two calls finishing... not b (one recipient left).
           Record(spool.get(), a,
                  {Result(0, RecipientState::kDelivered), Result(1, RecipientState::kBounced)});
           Record(spool.get(), b, {Result(0, RecipientState::kDelivered)});
           return true;
         },
         [&] { return recorded_.size() == 2; }});
    EXPECT_EQ(finished, std::vector<uint64_t>{a});
    EXPECT_EQ(spool->index().Find(a), nullptr);
    EXPECT_NE(spool->index().Find(b), nullptr);
    EXPECT_EQ(spool->counters().messages_finished.load(), 1u);
  }
  auto loop = NewLoop();
  auto spool = Open(loop.get(), Options());
  EXPECT_EQ(spool->index().Find(a), nullptr);
  EXPECT_NE(spool->index().Find(b), nullptr);
  EXPECT_EQ(spool->recovery_stats().messages_finished, 1u);
  Run(loop.get(), spool.get(), {});
}

TEST_F(DeliveryStateTest, DeletedRecipientsFinishTheMessageAndHistoryKeepsReplies) {
  uint64_t a = 0, b = 0;
  {
    auto loop = NewLoop();
    auto spool = Open(loop.get(), Options());
    a = Commit(spool.get(), Body(1));
    b = Commit(spool.get(), Body(2));
    Run(loop.get(), spool.get(),
        {[&] { return committed_.size() == 2; },
         [&] {
           RecipientResult deferred = Result(0, RecipientState::kDeferred, 1, kNextAttempt);
           deferred.reply_code = 451;
           deferred.reply_text = "451 4.3.0 try later";
           deferred.destination_host = "mx.example.net[192.0.2.1]";
           Record(spool.get(), b, {deferred});
           Record(spool.get(), a,
                  {Result(0, RecipientState::kDeleted), Result(1, RecipientState::kDeleted)});
           return true;
         },
         [&] { return recorded_.size() == 2; }});
    EXPECT_EQ(spool->index().Find(a), nullptr);  // every recipient deleted: finished
    const std::vector<AttemptNote> notes = spool->index().history().Of(b);
    ASSERT_EQ(notes.size(), 1u);
    EXPECT_EQ(notes[0].reply_text, "451 4.3.0 try later");
    EXPECT_EQ(notes[0].destination_host, "mx.example.net[192.0.2.1]");
    EXPECT_GT(notes[0].at_unix_us, 0);
    EXPECT_TRUE(spool->index().history().Of(a).empty());
  }
  auto loop = NewLoop();
  auto spool = Open(loop.get(), Options());
  EXPECT_EQ(spool->index().Find(a), nullptr);
  ASSERT_NE(spool->index().Find(b), nullptr);
  // Recovered from the DEFERRED record: the reply, not the time (the record has none).
  const std::vector<AttemptNote> notes = spool->index().history().Of(b);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].reply_code, 451);
  EXPECT_EQ(notes[0].reply_text, "451 4.3.0 try later");
  EXPECT_EQ(notes[0].at_unix_us, 0);
  EXPECT_EQ(spool->index().history().messages(), 1u);
  Run(loop.get(), spool.get(), {});
}

TEST_F(DeliveryStateTest, ResultsForUnknownIdsAndBadRecipientsAreRefused) {
  auto loop = NewLoop();
  auto spool = Open(loop.get(), Options());
  const uint64_t a = Commit(spool.get(), Body(1));
  std::vector<absl::Status> statuses;
  const RecipientResult out_of_range[] = {Result(2, RecipientState::kDelivered)};
  const RecipientResult pending[] = {Result(0, RecipientState::kPending)};
  const RecipientResult ok[] = {Result(0, RecipientState::kDelivered)};
  Run(loop.get(), spool.get(),
      {[&] { return committed_.size() == 1; },
       [&] {
         auto keep = [&](absl::Status s) { statuses.push_back(s); };
         spool->RecordRecipientResults(a + 1000, ok, keep);
         spool->RecordRecipientResults(a, out_of_range, keep);
         spool->RecordRecipientResults(a, pending, keep);
         spool->RecordRecipientResults(a, {}, keep);
         EXPECT_TRUE(statuses.empty());  // answers come from the loop, never inline
         return true;
       },
       [&] { return statuses.size() == 4; }});
  ASSERT_EQ(statuses.size(), 4u);
  EXPECT_EQ(statuses[0].code(), absl::StatusCode::kNotFound);
  for (int i = 1; i < 4; ++i) EXPECT_EQ(statuses[i].code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(spool->counters().state_records.load(), 0u);
}

TEST_F(DeliveryStateTest, RecoveryIgnoresStateRecordsForUnknownIds) {
  const std::string dir = ShardDir();
  ASSERT_TRUE(MakeDirectoryDurable(dir_.path()).ok());
  ASSERT_TRUE(MakeDirectoryDurable(dir).ok());
  std::string segment(MessageRecord(1, Body(1)).view());
  for (uint64_t id : {99, 1, 1}) {
    core::ByteBuffer r;
    EncodeRecipientResult(id, Result(0, RecipientState::kDelivered), &r);
    segment += std::string(r.view());
  }
  core::ByteBuffer late;  // for recipient 1 after message 1 finished: ignored
  EncodeRecipientResult(1, Result(1, RecipientState::kDelivered), &late);
  core::ByteBuffer r1;
  EncodeRecipientResult(1, Result(1, RecipientState::kBounced), &r1);
  segment += std::string(r1.view()) + std::string(late.view());
  testing::WriteFile(SegmentPath(dir, 1), segment);
  QueueIndex index;
  auto stats = RecoverShard(dir, &index);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->state_records, 5u);
  EXPECT_EQ(stats->state_records_ignored, 2u);  // id 99, and the one after the end
  EXPECT_EQ(stats->messages_finished, 1u);
  EXPECT_EQ(index.count(), 0u);
}

TEST_F(DeliveryStateTest, ReadMessageReturnsTheStoredBytesBeforeAndAfterReopen) {
  std::vector<uint64_t> ids;
  std::map<uint64_t, std::string> read;
  SpoolOptions options = Options();
  options.segment_bytes = kSegmentBytesMin;
  options.record_bytes_max = 32 << 10;
  auto read_all = [&](ShardSpool* spool) {
    for (uint64_t id : ids) {
      spool->ReadMessage(id, [&, id](absl::StatusOr<LoadedMessage> m) {
        ASSERT_TRUE(m.ok()) << m.status();
        EXPECT_EQ(m->queue_id(), id);
        EXPECT_EQ(m->view().sender(), "sender@example.com");
        read[id] = std::string(m->body());
      });
    }
  };
  {
    auto loop = NewLoop();
    auto spool = Open(loop.get(), options);
    // Bodies of many sizes, with leading dots and 8-bit bytes, across several segments.
    for (int i = 0; i < 40; ++i) {
      std::string body = Body(i, 100 + 997 * i % 20000) + "..dot\r\n\xC3\xA9t\xC3\xA9\r\n";
      ids.push_back(Commit(spool.get(), body));
    }
    Run(loop.get(), spool.get(),
        {[&] { return committed_.size() == ids.size(); },
         [&] {
           read_all(spool.get());
           return true;
         },
         [&] { return read.size() == ids.size(); }});
    for (uint64_t id : ids) EXPECT_EQ(read[id], bodies_[id]) << id;
    EXPECT_EQ(spool->counters().messages_read.load(), ids.size());
  }
  read.clear();
  auto loop = NewLoop();
  auto spool = Open(loop.get(), options);
  absl::Status unknown;
  Run(loop.get(), spool.get(),
      {[&] {
         read_all(spool.get());
         spool->ReadMessage(ids.back() + 1,
                            [&](absl::StatusOr<LoadedMessage> m) { unknown = m.status(); });
         return true;
       },
       [&] { return read.size() == ids.size() && !unknown.ok(); }});
  for (uint64_t id : ids) EXPECT_EQ(read[id], bodies_[id]) << id;
  EXPECT_EQ(unknown.code(), absl::StatusCode::kNotFound);
}

TEST_F(DeliveryStateTest, DamagedBytesOnDiskAreDataLossNamingSegmentAndOffset) {
  uint64_t id = 0;
  {
    auto loop = NewLoop();
    auto spool = Open(loop.get(), Options());
    id = Commit(spool.get(), Body(1, 500));
    Run(loop.get(), spool.get(), {[&] { return committed_.size() == 1; }});
  }
  auto loop = NewLoop();
  testing::FaultInjectingStorage storage(loop.get(), /*seed=*/1);
  storage.set_corrupt_reads(true);
  SpoolOptions options = Options();
  options.storage = &storage;
  auto spool = Open(loop.get(), options);
  absl::Status status;
  Run(loop.get(), spool.get(),
      {[&] {
         spool->ReadMessage(id, [&](absl::StatusOr<LoadedMessage> m) { status = m.status(); });
         return true;
       },
       [&] { return !status.ok(); }});
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(status.message().find("00000001.seg offset 0"), std::string::npos) << status;
  EXPECT_EQ(spool->counters().read_errors.load(), 1u);
}

}  // namespace
}  // namespace tern::spool
