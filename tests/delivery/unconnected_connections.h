// UnconnectedConnections: a test fixture with real OutboundConnections that never connect,
// for tests of the structures that hold them (lanes, MX rollup). Any callback from one is a
// test failure. Skips the test when the machine has no io_uring.
//
//   class LaneTest : public testing::UnconnectedConnections<3> {};
//   lane.ready.push_back(c(0));
#pragma once

#include <array>
#include <memory>

#include "delivery/outbound_connection.h"
#include "gtest/gtest.h"
#include "net/smtp/client_counters.h"
#include "tests/net/loopback_test_util.h"

namespace tern::delivery::testing {

class NoOwner final : public OutboundConnectionOwner {
 public:
  void OnConnectionReady(OutboundConnection*) override { ADD_FAILURE() << "ready"; }
  void OnTransactionDone(OutboundConnection*, const net::smtp::TransactionResult&) override {
    ADD_FAILURE() << "transaction";
  }
  void OnConnectionGone(OutboundConnection*) override { ADD_FAILURE() << "gone"; }
};

template <size_t kCount>
class UnconnectedConnections : public ::testing::Test {
 protected:
  void SetUp() override {
    auto shard = net::testing::Shard::Create();
    if (!shard.ok()) GTEST_SKIP() << shard.status();
    shard_ = *std::move(shard);
    for (auto& connection : connections_) {
      connection = std::make_unique<OutboundConnection>(shard_.loop.get(), shard_.transport.get(),
                                                        config_, &owner_, &counters_);
    }
  }
  OutboundConnection* c(size_t i) { return connections_[i].get(); }

  net::smtp::ClientConfig config_;
  NoOwner owner_;
  net::smtp::ClientCounters counters_;
  net::testing::Shard shard_;
  std::array<std::unique_ptr<OutboundConnection>, kCount> connections_;
};

}  // namespace tern::delivery::testing
