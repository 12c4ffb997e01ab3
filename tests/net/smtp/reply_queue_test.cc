// Tests of net/smtp/reply_queue.h: order is kept behind pending slots.
#include "net/smtp/reply_queue.h"

#include <string>

#include "gtest/gtest.h"

namespace tern::net::smtp {
namespace {

std::string Drain(ReplyQueue& q) {
  std::string out(q.Sendable());
  q.Consume(out.size());
  return out;
}

TEST(ReplyQueue, AppendsAreSendableInOrder) {
  ReplyQueue q;
  EXPECT_TRUE(q.empty());
  q.Append("a\r\n");
  q.Append("b\r\n");
  EXPECT_EQ(q.pending_bytes(), 6u);
  EXPECT_EQ(Drain(q), "a\r\nb\r\n");
  EXPECT_TRUE(q.empty());
}

TEST(ReplyQueue, PendingSlotHoldsBackLaterReplies) {
  ReplyQueue q;
  q.Append("1\r\n");
  ReplyQueue::SlotId slot = q.AppendPending();
  q.Append("3\r\n");
  EXPECT_EQ(q.Sendable(), "1\r\n");
  EXPECT_EQ(q.pending_slots(), 1u);
  q.Consume(3);
  EXPECT_EQ(q.Sendable(), "");
  EXPECT_EQ(q.pending_bytes(), 3u);
  q.Fill(slot, "2\r\n");
  EXPECT_EQ(Drain(q), "2\r\n3\r\n");
  EXPECT_TRUE(q.empty());
}

TEST(ReplyQueue, SlotsFilledOutOfOrder) {
  ReplyQueue q;
  ReplyQueue::SlotId a = q.AppendPending();
  q.Append("x\r\n");
  ReplyQueue::SlotId b = q.AppendPending();
  q.Append("y\r\n");
  ReplyQueue::SlotId c = q.AppendPending();
  q.Fill(b, "B\r\n");
  EXPECT_EQ(q.Sendable(), "");
  q.Fill(a, "A\r\n");
  EXPECT_EQ(Drain(q), "A\r\nx\r\nB\r\ny\r\n");
  q.Append("z\r\n");
  EXPECT_EQ(q.Sendable(), "");
  q.Fill(c, "C\r\n");
  EXPECT_EQ(Drain(q), "C\r\nz\r\n");
}

TEST(ReplyQueue, PartialSendsAndCompaction) {
  ReplyQueue q;
  std::string expected;
  std::string got;
  for (int i = 0; i < 5000; ++i) {
    std::string line = "250 2.0.0 reply " + std::to_string(i) + "\r\n";
    expected += line;
    q.Append(line);
    if (i % 7 == 0) {
      ReplyQueue::SlotId slot = q.AppendPending();
      got += std::string(q.Sendable().substr(0, 5));
      q.Consume(std::min<size_t>(5, q.Sendable().size()));
      q.Fill(slot, "");
    }
  }
  got += Drain(q);
  EXPECT_EQ(got, expected);
  EXPECT_TRUE(q.empty());
}

TEST(ReplyQueueDeathTest, FillingTwiceIsFatal) {
  ReplyQueue q;
  ReplyQueue::SlotId slot = q.AppendPending();
  q.Fill(slot, "x\r\n");
  EXPECT_DEATH(q.Fill(slot, "x\r\n"), "CHECK failed");
}

}  // namespace
}  // namespace tern::net::smtp
