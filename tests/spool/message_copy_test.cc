// What garbage collection relies on in the MESSAGE format and the index entry: a copy keeps
// everything and carries the folded states and schedule; first-format (version 1)
// envelopes still parse; final recipient states are sticky and a message finishes once.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "spool/little_endian.h"
#include "spool/message_record.h"
#include "spool/queue_index.h"
#include "spool/record_codec.h"
#include "tests/spool/spool_test_util.h"

namespace tern::spool {
namespace {

using testing::MessageRecord;

MessageRecordView ParseRecord(const core::ByteBuffer& record) {
  RecordView rv;
  CHECK(DecodeRecord(record.view(), &rv) == DecodeResult::kOk);
  MessageRecordView m;
  CHECK(m.Parse(rv.payload));
  return m;
}

TEST(MessageCopy, KeepsTheMessageAndCarriesStatesAndSchedule) {
  const std::string body = "Subject: x\r\n\r\n..dot\r\n\xC3\xA9\r\n";
  const core::ByteBuffer original = MessageRecord(5, body);
  const MessageRecordView source = ParseRecord(original);
  EXPECT_EQ(source.schedule().attempts, 0u);
  const RecipientState states[] = {RecipientState::kDelivered, RecipientState::kDeferred};
  core::ByteBuffer copy;
  ASSERT_TRUE(BuildMessageCopy(5, source, states, MessageSchedule{4, 123456, true}, &copy).ok());
  RecordView rv;
  ASSERT_EQ(DecodeRecord(copy.view(), &rv), DecodeResult::kOk);
  EXPECT_EQ(rv.queue_id, 5u);
  MessageRecordView m;
  ASSERT_TRUE(m.Parse(rv.payload));
  EXPECT_EQ(m.body(), body);
  EXPECT_EQ(m.sender(), source.sender());
  EXPECT_EQ(m.helo(), source.helo());
  EXPECT_EQ(m.client_address(), source.client_address());
  EXPECT_EQ(m.envid(), source.envid());
  EXPECT_EQ(m.dsn_ret(), source.dsn_ret());
  EXPECT_EQ(m.smtputf8(), source.smtputf8());
  EXPECT_EQ(m.received_unix_us(), source.received_unix_us());
  EXPECT_EQ(m.schedule().attempts, 4u);
  EXPECT_EQ(m.schedule().next_attempt_unix_us, 123456);
  EXPECT_TRUE(m.schedule().held);
  RecipientView r;
  auto it = m.recipients();
  ASSERT_TRUE(it.Next(&r));
  EXPECT_EQ(r.state, RecipientState::kDelivered);
  EXPECT_EQ(r.orcpt, "rfc822;alice@example.org");
  ASSERT_TRUE(it.Next(&r));
  EXPECT_EQ(r.state, RecipientState::kDeferred);
  EXPECT_EQ(r.address, "bob@example.net");
  const QueueEntry e = QueueEntry::FromMessage({}, m);
  EXPECT_EQ(e.attempts(), 4u);
  EXPECT_TRUE(e.held());
  EXPECT_EQ(e.recipient_state(0), RecipientState::kDelivered);
  EXPECT_FALSE(e.finished());
}

TEST(MessageCopy, FirstFormatEnvelopesStillParse) {
  // Rebuild the test record as version 1: drop the 16-byte schedule block.
  const core::ByteBuffer v2 = MessageRecord(6, "body\r\n");
  std::string payload(v2.view().substr(kRecordHeaderBytes));
  payload.erase(kEnvelopeFixedBytes, kEnvelopeScheduleBytes);
  StoreLE32(payload.data(), LoadLE32(payload.data()) - kEnvelopeScheduleBytes);
  payload[4] = static_cast<char>(kEnvelopeVersionFirst);
  MessageRecordView m;
  ASSERT_TRUE(m.Parse(payload));
  EXPECT_EQ(m.body(), "body\r\n");
  EXPECT_EQ(m.sender(), "sender@example.com");
  EXPECT_EQ(m.recipient_count(), 2u);
  EXPECT_EQ(m.schedule().attempts, 0u);
  EXPECT_FALSE(m.schedule().held);
  payload[4] = 4;  // an unknown version is not
  EXPECT_FALSE(m.Parse(payload));
}

TEST(QueueEntry, FinalStatesAreStickyAndAttemptsOnlyGrow) {
  const core::ByteBuffer record = MessageRecord(7, "b\r\n");
  QueueEntry e = QueueEntry::FromMessage({}, ParseRecord(record));
  EXPECT_TRUE(e.ApplyResult(0, RecipientState::kDeferred, 3, 900));
  EXPECT_EQ(e.attempts(), 3u);
  EXPECT_EQ(e.next_attempt_unix_us(), 900);
  EXPECT_TRUE(e.ApplyResult(0, RecipientState::kDelivered, 2, 0));
  EXPECT_EQ(e.attempts(), 3u);               // never goes back
  EXPECT_EQ(e.next_attempt_unix_us(), 900);  // only DEFERRED sets it
  EXPECT_TRUE(e.ApplyResult(0, RecipientState::kDeferred, 4, 1000));
  EXPECT_EQ(e.recipient_state(0), RecipientState::kDelivered);  // final stays final
  EXPECT_FALSE(e.finished());
  EXPECT_FALSE(e.ApplyResult(2, RecipientState::kDelivered, 1, 0));  // out of range
  EXPECT_TRUE(e.ApplyResult(1, RecipientState::kExpired, 5, 0));
  EXPECT_TRUE(e.finished());
}

}  // namespace
}  // namespace tern::spool
