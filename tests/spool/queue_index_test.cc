// QueueIndex: insert, replace, remove, lookup, id order, byte accounting.
#include "spool/queue_index.h"

#include <vector>

#include "gtest/gtest.h"
#include "tests/spool/spool_test_util.h"

namespace tern::spool {
namespace {

QueueEntry Entry(const core::ByteBuffer& record, RecordLocation where) {
  MessageRecordView m;
  CHECK(m.Parse(record.view().substr(kRecordHeaderBytes)));
  return QueueEntry::FromMessage(where, m);
}

TEST(QueueIndex, InsertFindRemoveAndOrder) {
  QueueIndex index;
  core::ByteBuffer a = testing::MessageRecord(30, "0123456789");
  core::ByteBuffer b = testing::MessageRecord(10, "01234");
  index.Insert(30, Entry(a, {1, 0, static_cast<uint32_t>(a.size())}));
  index.Insert(10, Entry(b, {1, 500, static_cast<uint32_t>(b.size())}));
  EXPECT_EQ(index.count(), 2u);
  EXPECT_EQ(index.message_bytes(), 15u);
  EXPECT_EQ(index.max_queue_id(), 30u);
  std::vector<uint64_t> ids;
  for (const auto& [id, entry] : index) ids.push_back(id);
  EXPECT_EQ(ids, (std::vector<uint64_t>{10, 30}));

  const QueueEntry* e = index.Find(10);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->location().offset, 500u);
  EXPECT_EQ(e->sender(), "sender@example.com");
  ASSERT_EQ(e->recipient_count(), 2u);
  EXPECT_EQ(e->recipient(0), "alice@example.org");
  EXPECT_EQ(e->recipient(1), "bob@example.net");
  EXPECT_EQ(e->recipient_notify(0), kNotifyFailure | kNotifyDelay);
  EXPECT_EQ(e->recipient_state(1), RecipientState::kPending);
  index.FindMutable(10)->set_recipient_state(1, RecipientState::kDelivered);
  EXPECT_EQ(index.Find(10)->recipient_state(1), RecipientState::kDelivered);

  index.Insert(30, Entry(b, {2, 0, static_cast<uint32_t>(b.size())}));  // supersedes
  EXPECT_EQ(index.count(), 2u);
  EXPECT_EQ(index.message_bytes(), 10u);
  EXPECT_TRUE(index.Remove(10));
  EXPECT_FALSE(index.Remove(10));
  EXPECT_EQ(index.Find(10), nullptr);
  EXPECT_EQ(index.count(), 1u);
  EXPECT_EQ(index.message_bytes(), 5u);
}

TEST(QueueIndex, TimedHoldsSoonestFirstAndGoneWhenReleasedOrRemoved) {
  QueueIndex index;
  core::ByteBuffer a = testing::MessageRecord(1, "a");
  for (uint64_t id : {1, 2, 3}) index.Insert(id, Entry(a, {1, 0, static_cast<uint32_t>(a.size())}));
  ASSERT_TRUE(index.SetHeld(1, true, 300));
  ASSERT_TRUE(index.SetHeld(2, true, 100));
  ASSERT_TRUE(index.SetHeld(3, true));  // until released
  EXPECT_EQ(index.held_count(), 3u);
  EXPECT_EQ(index.Find(3)->held_until_unix_us(), 0);
  using Holds = std::set<std::pair<int64_t, uint64_t>>;
  EXPECT_EQ(index.timed_holds(), (Holds{{100, 2}, {300, 1}}));
  ASSERT_TRUE(index.SetHeld(1, true, 50));  // a new end replaces the old
  EXPECT_EQ(index.timed_holds(), (Holds{{50, 1}, {100, 2}}));
  ASSERT_TRUE(index.SetHeld(1, false));
  EXPECT_EQ(index.Find(1)->held_until_unix_us(), 0);
  EXPECT_EQ(index.timed_holds(), (Holds{{100, 2}}));
  EXPECT_TRUE(index.Remove(2));
  EXPECT_TRUE(index.timed_holds().empty());
  EXPECT_EQ(index.held_count(), 1u);
}

}  // namespace
}  // namespace tern::spool
