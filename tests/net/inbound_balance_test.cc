// Tests of net/inbound_balance.h: where connections go for bursts the kernel spreads badly,
// after uneven closes, with shards not accepting, and with two threads placing at once.
#include "net/inbound_balance.h"

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <random>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"

namespace tern::net {
namespace {

// Shards as the balance sees them, driven from one thread: accepts that the "kernel"
// assigns, hand-offs that arrive (are adopted) later or at once, and closes.
class Shards {
 public:
  explicit Shards(int count) : balance_(count), sessions_(count, 0), in_flight_(count) {
    for (int s = 0; s < count; ++s) balance_.SetAccepting(s, true);
  }
  InboundBalance& balance() { return balance_; }

  // The kernel gave a connection to `accepting`; returns the shard placed on.
  int Accept(int accepting, bool adopt_at_once = true) {
    const int owner = balance_.Place(accepting);
    if (owner == accepting) {
      Open(owner);
    } else if (adopt_at_once) {
      Adopt(owner);
    } else {
      ++in_flight_[owner];
    }
    return owner;
  }
  // Every hand-off still on its way arrives.
  void AdoptAll() {
    for (int s = 0; s < static_cast<int>(in_flight_.size()); ++s) {
      for (; in_flight_[s] > 0; --in_flight_[s]) Adopt(s);
    }
  }
  void Close(int shard, int connections) {
    ASSERT_GE(sessions_[shard], static_cast<uint64_t>(connections));
    sessions_[shard] -= connections;
    balance_.SetOpen(shard, sessions_[shard]);
  }
  uint64_t sessions(int shard) const { return sessions_[shard]; }

 private:
  void Open(int shard) { balance_.SetOpen(shard, ++sessions_[shard]); }
  void Adopt(int shard) {
    Open(shard);
    balance_.HandOffEnded(shard);
  }
  InboundBalance balance_;
  std::vector<uint64_t> sessions_;
  std::vector<int> in_flight_;
};

TEST(InboundBalance, KeepsWhatNoShardIsLighterFor) {
  Shards shards(2);
  EXPECT_EQ(shards.Accept(0), 0);  // 0 / 0: a tie stays
  EXPECT_EQ(shards.Accept(1), 1);  // 1 / 0: the accepting shard is the lighter one
  EXPECT_EQ(shards.Accept(1), 1);  // 1 / 1: a tie stays
  EXPECT_EQ(shards.balance().load(0), 1u);
  EXPECT_EQ(shards.balance().load(1), 2u);
}

TEST(InboundBalance, HandsOffToTheLightestShard) {
  InboundBalance balance(3);
  for (int s = 0; s < 3; ++s) balance.SetAccepting(s, true);
  balance.SetOpen(0, 5);
  balance.SetOpen(1, 3);
  balance.SetOpen(2, 2);
  EXPECT_EQ(balance.Place(0), 2);
  EXPECT_EQ(balance.load(2), 3u);  // counted at once, before shard 2 adopts it
  EXPECT_EQ(balance.Place(0), 1);  // ties (1 and 2 at 3): the lowest shard number
  balance.HandOffEnded(2);
  balance.HandOffEnded(1);
  EXPECT_EQ(balance.load(2), 2u);
  EXPECT_EQ(balance.load(1), 3u);
}

TEST(InboundBalance, NeverPlacesOnAShardNotAccepting) {
  InboundBalance balance(3);
  balance.SetAccepting(0, true);
  balance.SetAccepting(2, true);  // 1 not running yet
  balance.SetOpen(0, 10);
  balance.SetOpen(2, 9);
  EXPECT_EQ(balance.Place(0), 2);
  balance.HandOffEnded(2);
  balance.SetAccepting(2, false);  // stopping
  EXPECT_EQ(balance.Place(0), 0);
  // A shard that stopped accepting itself still serves what its own listener gave it.
  EXPECT_EQ(balance.Place(2), 2);
}

// The worst spread the kernel can make: every connection of a burst to one shard.
TEST(InboundBalance, BurstOnOneShardSplitsEvenly) {
  Shards shards(2);
  for (int i = 0; i < 50; ++i) shards.Accept(0);
  EXPECT_EQ(shards.sessions(0), 25u);
  EXPECT_EQ(shards.sessions(1), 25u);
}

// The measured spread (37% / 63%), with the hand-offs still in the mailboxes while the
// burst goes on: counted at once, they still spread the burst.
TEST(InboundBalance, SkewedBurstSplitsEvenlyWhileHandOffsAreInFlight) {
  std::mt19937 random(17);
  for (int run = 0; run < 100; ++run) {
    Shards shards(2);
    for (int i = 0; i < 50; ++i) {
      const int kernel_choice = std::uniform_int_distribution<int>(0, 99)(random) < 37 ? 0 : 1;
      shards.Accept(kernel_choice, /*adopt_at_once=*/false);
      EXPECT_LE(std::abs(static_cast<int64_t>(shards.balance().load(0)) -
                         static_cast<int64_t>(shards.balance().load(1))),
                1);
    }
    shards.AdoptAll();
    EXPECT_EQ(shards.sessions(0), 25u);
    EXPECT_EQ(shards.sessions(1), 25u);
  }
}

TEST(InboundBalance, NewConnectionsGoWhereConnectionsClosed) {
  Shards shards(2);
  for (int i = 0; i < 50; ++i) shards.Accept(i % 3 == 0 ? 0 : 1);
  ASSERT_EQ(shards.sessions(0), 25u);
  shards.Close(0, 15);  // long-lived connections of shard 1 stay
  for (int i = 0; i < 15; ++i) EXPECT_EQ(shards.Accept(1), 0) << i;
  EXPECT_EQ(shards.sessions(0), 25u);
  EXPECT_EQ(shards.sessions(1), 25u);
}

TEST(InboundBalance, FourShardsStayWithinOne) {
  Shards shards(4);
  std::mt19937 random(4);
  for (int i = 0; i < 1000; ++i) {
    shards.Accept(std::uniform_int_distribution<int>(0, 1)(random));  // two hot shards
    if (i % 7 == 0) {  // uneven closes: always on the busiest shard
      int busiest = 0;
      for (int s = 1; s < 4; ++s) {
        if (shards.sessions(s) > shards.sessions(busiest)) busiest = s;
      }
      shards.Close(busiest, 1);
    }
  }
  uint64_t low = UINT64_MAX;
  uint64_t high = 0;
  for (int s = 0; s < 4; ++s) {
    low = std::min(low, shards.sessions(s));
    high = std::max(high, shards.sessions(s));
  }
  EXPECT_LE(high - low, 2u);
}

// Two shard threads accepting and adopting at once (each publishing only its own count, as
// ternd's shards do): every connection is counted once and the split stays even.
TEST(InboundBalance, TwoThreadsPlacingAtOnce) {
  constexpr int kAcceptsPerShard = 20000;
  InboundBalance balance(2);
  balance.SetAccepting(0, true);
  balance.SetAccepting(1, true);
  struct Mailbox {
    absl::Mutex mutex;
    int handed = 0;
  };
  Mailbox mailboxes[2];
  uint64_t sessions[2] = {0, 0};
  auto shard = [&](int self, double accept_share) {
    std::mt19937 random(self + 1);
    for (int i = 0; i < kAcceptsPerShard; ++i) {
      int adopt = 0;
      {
        absl::MutexLock lock(&mailboxes[self].mutex);
        std::swap(adopt, mailboxes[self].handed);
      }
      for (; adopt > 0; --adopt) {
        balance.SetOpen(self, ++sessions[self]);
        balance.HandOffEnded(self);
      }
      if (std::uniform_real_distribution<double>(0, 1)(random) > accept_share) continue;
      const int owner = balance.Place(self);
      if (owner == self) {
        balance.SetOpen(self, ++sessions[self]);
      } else {
        absl::MutexLock lock(&mailboxes[owner].mutex);
        ++mailboxes[owner].handed;
      }
    }
  };
  std::thread first(shard, 0, 0.37);
  std::thread second(shard, 1, 0.63);
  first.join();
  second.join();
  for (int s = 0; s < 2; ++s) {  // what is still in the mailboxes
    for (; mailboxes[s].handed > 0; --mailboxes[s].handed) {
      balance.SetOpen(s, ++sessions[s]);
      balance.HandOffEnded(s);
    }
  }
  EXPECT_EQ(balance.load(0), sessions[0]);  // nothing left in flight
  EXPECT_EQ(balance.load(1), sessions[1]);
  const int64_t total = static_cast<int64_t>(sessions[0] + sessions[1]);
  EXPECT_LE(std::abs(static_cast<int64_t>(sessions[0]) - static_cast<int64_t>(sessions[1])),
            total / 100 + 2);
}

}  // namespace
}  // namespace tern::net
