// SpoolFixture: a ShardSpool test fixture over a temporary directory: opens spools on fresh
// loops, commits messages, records results, and runs a loop through a sequence of steps
// until a condition holds, then shuts the spool down (bounded by RunUntil's deadline).
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "spool/segment_files.h"
#include "spool/shard_spool.h"
#include "tests/engine/test_engine.h"
#include "tests/spool/spool_test_util.h"

namespace tern::spool::testing {

class SpoolFixture : public ::testing::Test {
 protected:
  SpoolOptions Options() {
    SpoolOptions o;
    o.spool_dir = dir_.path();
    o.shard_id = 1;
    o.gc_interval = absl::ZeroDuration();  // tests that want the GC turn it on
    return o;
  }
  std::string ShardDir() const { return ShardDirectory(dir_.path(), 1); }
  static std::unique_ptr<core::Loop> NewLoop() {
    auto loop = engine::CreateLoop(tern::engine::testing::TestIoEngine());
    CHECK(loop.ok());
    return std::move(*loop);
  }
  // Opens a spool on `loop` with the engine's storage unless `options` brings one (kept
  // until the fixture ends).
  std::unique_ptr<ShardSpool> Open(core::Loop* loop, SpoolOptions options) {
    if (options.storage == nullptr) {
      storages_.push_back(engine::CreateStorage(loop));
      options.storage = storages_.back().get();
    }
    auto spool = ShardSpool::Open(loop, options);
    CHECK(spool.ok());
    return std::move(*spool);
  }
  // Appends a message with `body`; its status lands in committed_[id].
  uint64_t Commit(ShardSpool* spool, const std::string& body) {
    const uint64_t id = spool->NextQueueId();
    bodies_[id] = body;
    core::ByteBuffer record;
    CHECK(spool->BeginMessage(id, Envelope(), &record).ok());
    record.Append(body);
    spool->CommitMessage(id, std::move(record),
                         [this, id](absl::Status s) { committed_[id] = std::move(s); });
    return id;
  }
  void Record(ShardSpool* spool, uint64_t id, std::vector<RecipientResult> results) {
    spool->RecordRecipientResults(id, results, [this, id](absl::Status s) {
      recorded_.push_back(s);
      if (!s.ok()) ADD_FAILURE() << id << ": " << s;
    });
  }
  static RecipientResult Result(uint32_t recipient, RecipientState state, uint32_t attempts = 1,
                                int64_t next_attempt_unix_us = 0) {
    RecipientResult r;
    r.recipient = recipient;
    r.state = state;
    r.attempts = attempts;
    r.next_attempt_unix_us = next_attempt_unix_us;
    r.reply_code = state == RecipientState::kDelivered ? 250 : 451;
    r.enhanced_code = state == RecipientState::kDelivered ? "2.0.0" : "4.4.1";
    r.reply_text = "ok";
    r.destination_host = "mx.example.net";
    return r;
  }
  // Both recipients of the test envelope delivered.
  void DeliverAll(ShardSpool* spool, uint64_t id) {
    Record(spool, id,
           {Result(0, RecipientState::kDelivered), Result(1, RecipientState::kDelivered)});
  }
  // Runs `steps` in order on `loop`: each is called after every iteration until it returns
  // true, then the next one starts. When all are done the spool is shut down.
  void Run(core::Loop* loop, ShardSpool* spool, std::vector<std::function<bool()>> steps,
           absl::Duration timeout = absl::Seconds(60)) {
    size_t step = 0;
    bool requested = false, done = false;
    const bool finished = RunUntil(
        loop,
        [&] {
          while (step < steps.size() && steps[step]()) ++step;
          if (step == steps.size() && !requested) {
            requested = true;
            spool->Shutdown([&] { done = true; });
          }
          return done;
        },
        timeout);
    ASSERT_TRUE(finished) << "timed out at step " << step;
  }
  size_t SegmentFiles() {
    auto segments = ListSegments(ShardDir());
    CHECK(segments.ok());
    return segments->size();
  }

  TempDir dir_;
  std::vector<std::unique_ptr<StorageBackend>> storages_;  // of Open()
  std::map<uint64_t, std::string> bodies_;
  std::map<uint64_t, absl::Status> committed_;
  std::vector<absl::Status> recorded_;
};

}  // namespace tern::spool::testing
