// Tests of delivery/pool_wake_listener.h on a real loop: tells from other threads reach the
// owner on the loop's thread, coalesce per kind, retry each lane at the limit once, skip
// lanes forgotten meanwhile, and find nobody once the listener is gone.
#include "delivery/pool_wake_listener.h"

#include <thread>
#include <vector>

#include "engine/io_engine.h"
#include "gtest/gtest.h"
#include "tests/engine/test_engine.h"

namespace tern::delivery {
namespace {

class RecordingOwner : public PoolWakeOwner {
 public:
  void RetryLaneAtLimit(Lane* lane) override {
    retried.push_back(lane);
    if (on_retry) on_retry(lane);
  }
  void YieldIdleConnections() override { ++yields; }
  std::vector<Lane*> retried;
  int yields = 0;
  std::function<void(Lane*)> on_retry;
};

// Runs the loop until the mailbox has been served (a post queued behind the tells).
void Drain(core::Loop* loop) {
  bool done = false;
  loop->mailbox()->Post([&] {
    done = true;
    loop->Stop();
  });
  loop->Run();
  ASSERT_TRUE(done);
}

TEST(PoolWakeListener, TellsFromAnotherThreadReachTheOwnerOnTheLoopCoalesced) {
  auto loop = engine::CreateLoop(tern::engine::testing::TestIoEngine());
  if (!loop.ok()) GTEST_SKIP() << loop.status();
  net::PoolWakeups wakeups;
  RecordingOwner owner;
  Lane a, b;
  {
    PoolWakeListener listener(loop->get(), &wakeups, 3, &owner);
    listener.NoteLaneAtLimit(&a);
    listener.NoteLaneAtLimit(&b);
    listener.NoteLaneAtLimit(&a);  // once
    EXPECT_EQ(listener.lanes_at_limit(), 2u);
    std::thread other([&] {
      for (int i = 0; i < 100; ++i) wakeups.Tell(3, net::PoolWakeups::Reason::kSlotMayBeFree);
      wakeups.Tell(3, net::PoolWakeups::Reason::kSomeoneWaits);
      wakeups.Tell(4, net::PoolWakeups::Reason::kSomeoneWaits);  // nobody registered
    });
    other.join();
    EXPECT_TRUE(owner.retried.empty());  // nothing runs off the loop
    Drain(loop->get());
    EXPECT_EQ(listener.slot_wakes(), 1u);  // 100 tells, one post
    EXPECT_EQ(listener.wait_wakes(), 1u);
    EXPECT_EQ(owner.retried.size(), 2u);
    EXPECT_EQ(owner.yields, 1);
    EXPECT_EQ(listener.lanes_at_limit(), 0u);  // each retried once; noted again if refused
  }
}

TEST(PoolWakeListener, OnceItsPostRanTheNextTellPostsAgain) {
  auto loop = engine::CreateLoop(tern::engine::testing::TestIoEngine());
  if (!loop.ok()) GTEST_SKIP() << loop.status();
  core::Loop* l = loop->get();
  net::PoolWakeups wakeups;
  RecordingOwner owner;
  Lane a, b;
  PoolWakeListener listener(l, &wakeups, 1, &owner);
  listener.NoteLaneAtLimit(&a);
  wakeups.Tell(1, net::PoolWakeups::Reason::kSlotMayBeFree);
  l->mailbox()->Post([&] {  // behind the first wake
    EXPECT_EQ(listener.slot_wakes(), 1u);
    listener.NoteLaneAtLimit(&b);
    wakeups.Tell(1, net::PoolWakeups::Reason::kSlotMayBeFree);
    l->mailbox()->Post([&] {
      EXPECT_EQ(listener.slot_wakes(), 2u);
      l->Stop();
    });
  });
  l->Run();
  EXPECT_EQ(owner.retried, std::vector<Lane*>({&a, &b}));
}

TEST(PoolWakeListener, APostQueuedWhenTheListenerWentFindsNobody) {
  auto loop = engine::CreateLoop(tern::engine::testing::TestIoEngine());
  if (!loop.ok()) GTEST_SKIP() << loop.status();
  net::PoolWakeups wakeups;
  RecordingOwner owner;
  Lane a;
  {
    PoolWakeListener listener(loop->get(), &wakeups, 2, &owner);
    listener.NoteLaneAtLimit(&a);
    wakeups.Tell(2, net::PoolWakeups::Reason::kSlotMayBeFree);  // posted, not yet run
  }
  wakeups.Tell(2, net::PoolWakeups::Reason::kSomeoneWaits);  // unregistered: nothing
  Drain(loop->get());
  EXPECT_TRUE(owner.retried.empty());
  EXPECT_EQ(owner.yields, 0);
}

TEST(PoolWakeListener, ALaneForgottenDuringTheRetriesIsNotRetried) {
  auto loop = engine::CreateLoop(tern::engine::testing::TestIoEngine());
  if (!loop.ok()) GTEST_SKIP() << loop.status();
  net::PoolWakeups wakeups;
  RecordingOwner owner;
  Lane a, b;
  PoolWakeListener listener(loop->get(), &wakeups, 0, &owner);
  listener.NoteLaneAtLimit(&a);
  listener.NoteLaneAtLimit(&b);
  // Whichever comes first drops the other (as a retry may drop a lane).
  owner.on_retry = [&](Lane* lane) { listener.Forget(lane == &a ? &b : &a); };
  wakeups.Tell(0, net::PoolWakeups::Reason::kSlotMayBeFree);
  Drain(loop->get());
  EXPECT_EQ(owner.retried.size(), 1u);
}

TEST(PoolWakeListener, AWakeStopsAfterARunOfLanesRefusedAgainAndKeepsTheOrder) {
  auto loop = engine::CreateLoop(tern::engine::testing::TestIoEngine());
  if (!loop.ok()) GTEST_SKIP() << loop.status();
  net::PoolWakeups wakeups;
  RecordingOwner owner;
  std::vector<Lane> lanes(10);
  PoolWakeListener listener(loop->get(), &wakeups, 0, &owner);
  for (Lane& lane : lanes) listener.NoteLaneAtLimit(&lane);
  // The first lane gets the freed slot; every other one meets the shared limit again.
  owner.on_retry = [&](Lane* lane) {
    if (lane != &lanes[0]) listener.NoteLaneAtLimit(lane);
  };
  wakeups.Tell(0, net::PoolWakeups::Reason::kSlotMayBeFree);
  Drain(loop->get());
  ASSERT_EQ(owner.retried.size(), 1 + PoolWakeListener::kRefusedRunMax);
  for (size_t i = 0; i < owner.retried.size(); ++i) EXPECT_EQ(owner.retried[i], &lanes[i]);
  EXPECT_EQ(listener.lanes_at_limit(), 9u);
}

TEST(PoolWakeListener, TheNextWakeGoesOnWhereTheLastStopped) {
  auto loop = engine::CreateLoop(tern::engine::testing::TestIoEngine());
  if (!loop.ok()) GTEST_SKIP() << loop.status();
  net::PoolWakeups wakeups;
  RecordingOwner owner;
  std::vector<Lane> lanes(6);
  PoolWakeListener listener(loop->get(), &wakeups, 0, &owner);
  for (Lane& lane : lanes) listener.NoteLaneAtLimit(&lane);
  owner.on_retry = [&](Lane* lane) { listener.NoteLaneAtLimit(lane); };  // all refused
  core::Loop* l = loop->get();
  wakeups.Tell(0, net::PoolWakeups::Reason::kSlotMayBeFree);
  l->mailbox()->Post([&] {  // behind the first wake
    wakeups.Tell(0, net::PoolWakeups::Reason::kSlotMayBeFree);
    l->mailbox()->Post([&] { l->Stop(); });
  });
  l->Run();
  // 4 then 4: lanes 0-3, then 4, 5 and (back in line) 0, 1: nobody is skipped for long.
  const std::vector<Lane*> expected = {&lanes[0], &lanes[1], &lanes[2], &lanes[3],
                                       &lanes[4], &lanes[5], &lanes[0], &lanes[1]};
  EXPECT_EQ(owner.retried, expected);
  EXPECT_EQ(listener.lanes_at_limit(), 6u);
}

}  // namespace
}  // namespace tern::delivery
