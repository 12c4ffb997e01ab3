// MESSAGE envelope: round trip through the record codec, and malformed envelopes.
#include "spool/message_record.h"

#include <string>

#include "gtest/gtest.h"
#include "spool/queue_index.h"
#include "spool/record_codec.h"
#include "tests/spool/spool_test_util.h"

namespace tern::spool {
namespace {

using testing::Envelope;
using testing::MessageRecord;

TEST(MessageRecord, RoundTrip) {
  const std::string body = "Subject: hi\r\n\r\n..dot-stuffed\r\n";
  core::ByteBuffer record = MessageRecord(77, body);
  RecordView rv;
  ASSERT_EQ(DecodeRecord(record.view(), &rv), DecodeResult::kOk);
  EXPECT_EQ(rv.type, RecordType::kMessage);
  EXPECT_EQ(rv.queue_id, 77u);
  MessageRecordView m;
  ASSERT_TRUE(m.Parse(rv.payload));
  EXPECT_EQ(m.received_unix_us(), 1'700'000'000'000'000);
  EXPECT_EQ(m.client_address(), "192.0.2.7");
  EXPECT_EQ(m.helo(), "client.example.com");
  EXPECT_EQ(m.sender(), "sender@example.com");
  EXPECT_EQ(m.envid(), "env-1");
  EXPECT_EQ(m.body_type(), BodyType::kEightBitMime);
  EXPECT_TRUE(m.smtputf8());
  EXPECT_EQ(m.dsn_ret(), 2);
  EXPECT_EQ(m.body(), body);
  EXPECT_EQ(m.envelope_bytes() + body.size(), rv.payload.size());
  ASSERT_EQ(m.recipient_count(), 2u);
  RecipientView r;
  auto it = m.recipients();
  ASSERT_TRUE(it.Next(&r));
  EXPECT_EQ(r.address, "alice@example.org");
  EXPECT_EQ(r.orcpt, "rfc822;alice@example.org");
  EXPECT_EQ(r.notify, kNotifyFailure | kNotifyDelay);
  EXPECT_EQ(r.state, RecipientState::kPending);
  ASSERT_TRUE(it.Next(&r));
  EXPECT_EQ(r.address, "bob@example.net");
  EXPECT_TRUE(r.orcpt.empty());
  EXPECT_FALSE(it.Next(&r));
}

TEST(MessageRecord, NullSenderAndEmptyBody) {
  MessageEnvelope e = Envelope();
  e.sender = "";
  core::ByteBuffer record;
  ASSERT_TRUE(BeginMessageRecord(5, e, &record).ok());
  FinishRecord(&record);
  MessageRecordView m;
  ASSERT_TRUE(m.Parse(record.view().substr(kRecordHeaderBytes)));
  EXPECT_EQ(m.sender(), "");
  EXPECT_EQ(m.body(), "");
}

TEST(MessageRecord, TruncatedEnvelopeNeverParses) {
  core::ByteBuffer record = MessageRecord(1, "");
  const absl::string_view payload = record.view().substr(kRecordHeaderBytes);
  MessageRecordView m;
  for (size_t n = 0; n < payload.size(); ++n) EXPECT_FALSE(m.Parse(payload.substr(0, n))) << n;
}

TEST(MessageRecord, RejectsWhatItCannotStore) {
  MessageEnvelope e = Envelope();
  e.recipients = {};
  core::ByteBuffer record;
  EXPECT_EQ(BeginMessageRecord(1, e, &record).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(record.empty());
  e = Envelope();
  const std::string long_helo(kEnvelopeStringBytesMax + 1, 'h');
  e.helo = long_helo;
  EXPECT_EQ(BeginMessageRecord(1, e, &record).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(record.empty());
}

TEST(MessageRecord, WithoutPoolIsVersionTwoAsBefore) {
  // What every ternd before egress pools wrote, and still writes for mail without a pool.
  core::ByteBuffer record = MessageRecord(8, "b\r\n");
  const absl::string_view payload = record.view().substr(kRecordHeaderBytes);
  EXPECT_EQ(payload[4], static_cast<char>(kEnvelopeVersion));
  MessageRecordView m;
  ASSERT_TRUE(m.Parse(payload));
  EXPECT_EQ(m.pool(), "");
  EXPECT_EQ(QueueEntry::FromMessage({}, m).pool(), "");
}

TEST(MessageRecord, PoolRoundTripsThroughRecordCopyAndQueueEntry) {
  MessageEnvelope e = Envelope();
  e.pool = "bulk";
  core::ByteBuffer record;
  ASSERT_TRUE(BeginMessageRecord(9, e, &record).ok());
  record.Append("Subject: x\r\n\r\nbody\r\n");
  FinishRecord(&record);
  const absl::string_view payload = record.view().substr(kRecordHeaderBytes);
  EXPECT_EQ(payload[4], static_cast<char>(kEnvelopeVersionPool));
  MessageRecordView m;
  ASSERT_TRUE(m.Parse(payload));
  EXPECT_EQ(m.pool(), "bulk");
  EXPECT_EQ(m.envid(), "env-1");
  EXPECT_EQ(m.recipient_count(), 2u);
  EXPECT_EQ(m.body(), "Subject: x\r\n\r\nbody\r\n");
  const QueueEntry entry = QueueEntry::FromMessage({}, m);
  EXPECT_EQ(entry.pool(), "bulk");
  EXPECT_EQ(entry.sender(), "sender@example.com");
  EXPECT_EQ(entry.recipient(1), "bob@example.net");

  const RecipientState states[] = {RecipientState::kDelivered, RecipientState::kPending};
  core::ByteBuffer copy;
  ASSERT_TRUE(BuildMessageCopy(9, m, states, MessageSchedule{}, &copy).ok());
  MessageRecordView c;
  ASSERT_TRUE(c.Parse(copy.view().substr(kRecordHeaderBytes)));
  EXPECT_EQ(c.pool(), "bulk");
  EXPECT_EQ(c.body(), m.body());

  // Truncated anywhere, a version 3 envelope never parses.
  for (size_t n = 0; n < m.envelope_bytes(); ++n) {
    EXPECT_FALSE(c.Parse(payload.substr(0, n))) << n;
  }
}

TEST(MessageRecord, PoolSetWhileTheBodyArrives) {
  core::ByteBuffer record;
  ASSERT_TRUE(BeginMessageRecord(10, Envelope(), &record).ok());
  record.Append("Received: x\r\nSubject: y\r\n\r\npart one ");
  const size_t before = record.size();
  ASSERT_TRUE(SetPendingMessagePool(&record, "transactional").ok());
  EXPECT_EQ(record.size(), before + 2 + 13);
  // A second pool is refused and changes nothing.
  EXPECT_EQ(SetPendingMessagePool(&record, "other").code(), absl::StatusCode::kInvalidArgument);
  const std::string too_long(kEnvelopePoolBytesMax + 1, 'p');
  EXPECT_EQ(SetPendingMessagePool(&record, too_long).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(record.size(), before + 2 + 13);
  record.Append("part two\r\n");
  FinishRecord(&record);
  RecordView rv;
  ASSERT_EQ(DecodeRecord(record.view(), &rv), DecodeResult::kOk);
  EXPECT_EQ(rv.queue_id, 10u);
  MessageRecordView m;
  ASSERT_TRUE(m.Parse(rv.payload));
  EXPECT_EQ(m.pool(), "transactional");
  EXPECT_EQ(m.sender(), "sender@example.com");
  EXPECT_EQ(m.envid(), "env-1");
  EXPECT_EQ(m.recipient_count(), 2u);
  EXPECT_EQ(m.body(), "Received: x\r\nSubject: y\r\n\r\npart one part two\r\n");
}

TEST(MessageRecord, TooLongPoolIsRefused) {
  MessageEnvelope e = Envelope();
  const std::string long_pool(kEnvelopePoolBytesMax + 1, 'p');
  e.pool = long_pool;
  core::ByteBuffer record;
  EXPECT_EQ(BeginMessageRecord(1, e, &record).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(record.empty());
}

}  // namespace
}  // namespace tern::spool
