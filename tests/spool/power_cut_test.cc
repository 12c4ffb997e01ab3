// Durability suite, spool level (CTest label "durability"): a shard's spool runs a mixed
// workload (messages of many sizes, delivery results, holds, segment rotation, garbage
// collection and compaction) on FaultInjectingStorage; power-cut images are taken at every
// named crash point and recovered, and the invariants are checked on each:
//   - every message acknowledged before the cut is in the recovered queue exactly once with
//     its body, unless results for all its recipients were acknowledged too (then it is gone);
//   - every recipient result acknowledged before the cut is in the recovered state;
//   - nothing that was never handed to the spool appears, and no body is altered;
//   - crashing during recovery itself (at each quarantine, truncation and start-up deletion)
//     or during the next start-up's first segment creation, then recovering again, gives the
//     same queue.
// The window between a remote 250 and its DELIVERED record is a crash point of its own
// (at-least-once: the recipient is pending again, or final if the record landed); bit rot
// inside the acknowledged region is quarantined and reported, never silently dropped.
// A seeded random loop chains load, injected faults, a cut and recovery for many cycles.
// Every failure names the seed, the cycle, the crash point and the loss model; set
// TERN_DURABILITY_SEED (and TERN_DURABILITY_CYCLES) to replay.
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "spool/record_codec.h"
#include "spool/record_format.h"
#include "spool/segment_files.h"
#include "spool/shard_spool.h"
#include "spool/testing/fault_injecting_storage.h"
#include "tests/engine/test_engine.h"
#include "tests/spool/spool_test_util.h"

namespace tern::spool::testing {
namespace {

constexpr int kShard = 1;
int recovery_crashes = 0;  // crashes injected inside Open() so far (for the summaries)
constexpr char kAfterRemote250[] = "after-remote-250-before-DELIVERED";
constexpr char kDuringGc[] = "any point during garbage collection or compaction";

// What the spool's clients were told, as of some instant.
struct Told {
  std::set<uint64_t> acked;                                              // CommitMessage said OK
  std::map<uint64_t, std::map<uint32_t, RecipientState>> final_results;  // results said OK
  // Recipients given a final result (told OK or not yet told): only these may be final
  // after a cut, and a message may be gone only once all its recipients are here.
  std::map<uint64_t, std::set<uint32_t>> final_handed;
};

struct CrashImage {
  std::string root;   // a spool directory: root/shard-1
  std::string where;  // crash point, occurrence and loss model, for failure messages
  Told told;
  std::map<uint64_t, RecordLocation> located;  // where the acknowledged messages were
};

// Drives a mixed workload on a spool from the loop's iteration hook; records what each
// waiter was told.
class Workload {
 public:
  Workload(ShardSpool* spool, std::mt19937_64* random, Told* told,
           std::map<uint64_t, std::string>* bodies, int messages)
      : spool_(spool), random_(random), told_(told), bodies_(bodies), messages_(messages) {
    for (uint64_t id : told_->acked) open_.push_back(id);
  }

  // Delivery results handed to the spool whose waiters have not run: a write submitted now
  // carries them (the remote said 250, the DELIVERED record is not durable yet).
  int results_in_flight() const { return results_in_flight_; }

  // One step; true once every message was handed over, the queue drained (every message
  // delivered, so that garbage collection deletes whole segments) and every waiter has run.
  bool Step() {
    for (int i = Uniform(1, 4); i > 0 && issued_ < messages_ && outstanding_ < 48; --i) {
      ++issued_;
      if (!spool_->CheckAccepting().ok()) continue;  // refused (452/451): nothing to track
      Commit();
    }
    const bool draining = issued_ >= messages_;
    for (int i = draining ? 8 : Uniform(0, 3); i > 0 && !open_.empty(); --i) Act(draining);
    return draining && outstanding_ == 0 && (open_.empty() || ++drain_steps_ > 10'000);
  }

 private:
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(*random_); }

  void Commit() {
    const uint64_t id = spool_->NextQueueId();
    // Mostly small, some spanning several pages, a few close to a quarter segment.
    const int size = Uniform(0, 9) < 8 ? Uniform(80, 3000) : Uniform(3000, 15000);
    (*bodies_)[id] = Body(static_cast<int>(id % 100000), static_cast<size_t>(size));
    core::ByteBuffer record;
    CHECK(spool_->BeginMessage(id, Envelope(), &record).ok());
    record.Append((*bodies_)[id]);
    ++outstanding_;
    spool_->CommitMessage(id, std::move(record), [this, id](absl::Status s) {
      --outstanding_;
      if (!s.ok()) return;
      told_->acked.insert(id);
      open_.push_back(id);
    });
  }

  // A delivery result, a deferral or a hold for a random acknowledged message.
  void Act(bool deliver_all) {
    const size_t pick = static_cast<size_t>(Uniform(0, static_cast<int>(open_.size()) - 1));
    const uint64_t id = open_[pick];
    const QueueEntry* entry = spool_->index().Find(id);
    if (entry == nullptr) {  // finished meanwhile
      open_.erase(open_.begin() + static_cast<long>(pick));
      return;
    }
    const int action = deliver_all ? 1 : Uniform(0, 9);
    ++outstanding_;
    if (action == 0) {
      spool_->SetHeld(id, Uniform(0, 1) == 1, [this](absl::Status) { --outstanding_; });
      return;
    }
    std::vector<RecipientResult> results;
    for (uint32_t r = 0; r < 2; ++r) {
      if (IsFinalRecipientState(entry->recipient_state(r))) continue;
      if (!deliver_all && Uniform(0, 4) == 0) continue;
      RecipientResult result;
      result.recipient = r;
      result.state = action < 6   ? RecipientState::kDelivered
                     : action < 8 ? RecipientState::kDeferred
                                  : RecipientState::kBounced;
      result.attempts = 1;
      result.reply_code = result.state == RecipientState::kDelivered ? 250 : 451;
      result.enhanced_code = result.state == RecipientState::kDelivered ? "2.0.0" : "4.4.1";
      result.reply_text = "ok";
      result.destination_host = "mx.example.net";
      results.push_back(result);
    }
    if (results.empty()) {
      --outstanding_;
      return;
    }
    for (const RecipientResult& r : results) {
      if (IsFinalRecipientState(r.state)) told_->final_handed[id].insert(r.recipient);
    }
    ++results_in_flight_;
    spool_->RecordRecipientResults(id, results, [this, id, results](absl::Status s) {
      --outstanding_;
      --results_in_flight_;
      if (!s.ok()) return;
      for (const RecipientResult& r : results) {
        // A recipient's first final result sticks (QueueEntry::ApplyResult).
        if (IsFinalRecipientState(r.state))
          told_->final_results[id].try_emplace(r.recipient, r.state);
      }
    });
  }

  ShardSpool* spool_;
  std::mt19937_64* random_;
  Told* told_;
  std::map<uint64_t, std::string>* bodies_;
  const int messages_;
  int issued_ = 0;
  int outstanding_ = 0;
  int drain_steps_ = 0;
  int results_in_flight_ = 0;
  std::vector<uint64_t> open_;  // acknowledged, maybe not finished
};

SpoolOptions SmallSpool(const std::string& root, StorageBackend* storage) {
  SpoolOptions o;
  o.spool_dir = root;
  o.shard_id = kShard;
  o.segment_bytes = kSegmentBytesMin;  // 64 KiB: rotation every few dozen messages
  o.record_bytes_max = 32 << 10;
  o.gc_interval = absl::Milliseconds(2);
  o.prepare_retry_interval = absl::Milliseconds(5);
  o.storage = storage;
  return o;
}

// Opens the spool in `root` with `storage`, runs `step` after every iteration until it
// returns true, then shuts the spool down. False on timeout.
bool RunSpool(const std::string& root, FaultInjectingStorage* storage, core::Loop* loop,
              std::unique_ptr<ShardSpool>* spool_out, std::function<bool()> step) {
  auto spool = ShardSpool::Open(loop, SmallSpool(root, storage));
  if (!spool.ok()) {
    ADD_FAILURE() << "open " << root << ": " << spool.status();
    return false;
  }
  *spool_out = std::move(*spool);
  ShardSpool* s = spool_out->get();
  bool stepping = true, requested = false, done = false;
  const bool finished = RunUntil(
      loop,
      [&] {
        if (stepping && step()) stepping = false;
        if (!stepping && !requested) {
          requested = true;
          s->Shutdown([&] { done = true; });
        }
        return done;
      },
      absl::Seconds(120));
  return finished;
}

std::unique_ptr<core::Loop> NewLoop() {
  auto loop = engine::CreateLoop(tern::engine::testing::TestIoEngine());
  CHECK(loop.ok());
  return std::move(*loop);
}

// The queue recovered from a spool directory, by id: recipient states and held flag.
struct Recovered {
  std::map<uint64_t, std::vector<RecipientState>> states;
  std::map<uint64_t, bool> held;
  bool operator==(const Recovered&) const = default;
};

Recovered Recover(const std::string& shard_dir, const std::map<uint64_t, std::string>& bodies,
                  RecoveryStats* stats_out = nullptr) {
  Recovered out;
  QueueIndex index;
  auto stats = RecoverShard(shard_dir, &index);
  EXPECT_TRUE(stats.ok()) << stats.status();
  if (!stats.ok()) return out;
  if (stats_out != nullptr) *stats_out = *stats;
  for (const auto& [id, entry] : index) {
    auto body = bodies.find(id);
    EXPECT_NE(body, bodies.end()) << "queue id " << id << " was never handed to the spool";
    if (body != bodies.end()) {
      EXPECT_EQ(StoredBody(shard_dir, entry), body->second) << "body of " << id;
    }
    for (uint32_t r = 0; r < entry.recipient_count(); ++r) {
      out.states[id].push_back(entry.recipient_state(r));
    }
    out.held[id] = entry.held();
  }
  return out;
}

// Crashes inside Open() on a copy of `pristine` (a spool root as the cut left it) at its
// k-th disk-changing step (quarantine, truncate, start-up deletion), for every k, and
// checks that recovering what that left gives `expected`. Each segment takes at most a
// few steps (its quarantines, a truncation, its deletion): a drained queue that was cut
// while garbage collection caught up leaves dozens of dead segments, each a step.
void CrashDuringRecovery(const std::string& pristine, const std::map<uint64_t, std::string>& bodies,
                         const Recovered& expected) {
  int segments = 0;
  for (const auto& file : std::filesystem::directory_iterator(ShardDirectory(pristine, kShard))) {
    segments += ParseSegmentFileName(file.path().filename().string()).has_value() ? 1 : 0;
  }
  const int steps_max = 16 + 4 * segments;
  for (int k = 1; k <= steps_max; ++k) {
    const std::string root = absl::StrCat(pristine, "-crash-", k);
    std::filesystem::copy(pristine, root, std::filesystem::copy_options::recursive);
    int steps = 0;
    std::string crashed_at;
    auto loop = NewLoop();
    std::unique_ptr<StorageBackend> storage = engine::CreateStorage(loop.get());
    SpoolOptions options = SmallSpool(root, storage.get());
    options.crash_during_open = [&](const char* step) {
      if (++steps < k) return false;
      crashed_at = step;
      return true;
    };
    auto opened = ShardSpool::Open(loop.get(), options);
    if (opened.ok()) {  // fewer than k steps: nothing left to crash in
      bool done = false;
      (*opened)->Shutdown([&] { done = true; });
      EXPECT_TRUE(RunUntil(loop.get(), [&] { return done; }));
      std::filesystem::remove_all(root);
      return;
    }
    EXPECT_EQ(opened.status().code(), absl::StatusCode::kAborted) << opened.status();
    ++recovery_crashes;
    EXPECT_EQ(Recover(ShardDirectory(root, kShard), bodies), expected)
        << "a crash during recovery at step " << k << " (" << crashed_at
        << ") changed the recovered queue";
    std::filesystem::remove_all(root);
  }
  ADD_FAILURE() << "recovery did not finish within " << steps_max << " steps (" << segments
                << " segments)";
}

// Checks the invariants on one image, then opens it (recovery + start-up), cuts the power
// again while the first new segment is created, and checks that recovering that second image
// gives the same queue. Returns the recovered queue of the first image.
Recovered CheckImage(const CrashImage& image, const std::map<uint64_t, std::string>& bodies) {
  SCOPED_TRACE(image.where);
  const std::string shard_dir = ShardDirectory(image.root, kShard);
  // Recovery repairs in place: keep the image as the cut left it for the crashes below.
  const std::string pristine = image.root + "-pristine";
  std::filesystem::copy(image.root, pristine, std::filesystem::copy_options::recursive);
  RecoveryStats stats;
  const Recovered recovered = Recover(shard_dir, bodies, &stats);
  SCOPED_TRACE(absl::StrCat("recovery: ", stats.ToString()));
  for (uint64_t id : image.told.acked) {
    auto results = image.told.final_results.find(id);
    const bool all_final = results != image.told.final_results.end() && results->second.size() == 2;
    auto handed = image.told.final_handed.find(id);
    const bool may_be_final = handed != image.told.final_handed.end() && handed->second.size() == 2;
    auto found = recovered.states.find(id);
    if (all_final) {
      EXPECT_EQ(found, recovered.states.end()) << id << ": every result acknowledged, still queued";
      continue;
    }
    if (may_be_final && found == recovered.states.end()) continue;  // unacked results landed
    if (found == recovered.states.end()) {
      auto at = image.located.find(id);
      ADD_FAILURE() << "acknowledged message " << id << " lost"
                    << (at == image.located.end()
                            ? std::string()
                            : absl::StrCat(" (it was in segment ", at->second.segment,
                                           " at offset ", at->second.offset, ", ",
                                           at->second.record_bytes, " bytes)"));
      continue;
    }
    if (results == image.told.final_results.end()) continue;
    for (const auto& [recipient, state] : results->second) {
      EXPECT_EQ(found->second[recipient], state)
          << id << " recipient " << recipient << ": acknowledged result lost";
    }
  }
  for (const auto& [id, states] : recovered.states) {
    auto handed = image.told.final_handed.find(id);
    for (uint32_t r = 0; r < states.size(); ++r) {
      if (!IsFinalRecipientState(states[r])) continue;
      EXPECT_TRUE(handed != image.told.final_handed.end() && handed->second.contains(r))
          << id << " recipient " << r << " is " << RecipientStateName(states[r])
          << " but no such result was ever handed to the spool";
    }
  }
  // Crash, recover, crash again during start-up (at the new segment's creation), recover.
  auto loop = NewLoop();
  FaultInjectingStorage storage(loop.get(), /*seed=*/1);
  const std::string again = image.root + "-again";
  std::filesystem::create_directories(again);
  bool taken = false;
  storage.on_point = [&](CrashPoint point, const std::string&) {
    if (point != CrashPoint::kCreateSubmitted || taken) return;
    taken = true;
    EXPECT_TRUE(
        storage.TakeCrashImage(shard_dir, ShardDirectory(again, kShard), PowerCutLoss::kDrop).ok());
  };
  std::unique_ptr<ShardSpool> spool;
  EXPECT_TRUE(RunSpool(image.root, &storage, loop.get(), &spool, [] { return true; }));
  EXPECT_TRUE(taken);
  if (taken) {
    EXPECT_EQ(Recover(ShardDirectory(again, kShard), bodies), recovered)
        << "recovering after a crash during start-up changed the queue";
  }
  std::filesystem::remove_all(again);
  CrashDuringRecovery(pristine, bodies, recovered);
  std::filesystem::remove_all(pristine);
  return recovered;
}

// Runs the workload once with images taken at every `every`-th occurrence of each crash
// point, with `loss`; checks every image.
void CrashPointMatrix(PowerCutLoss loss, uint64_t seed) {
  TempDir temp;
  // TERN_DURABILITY_KEEP=DIR keeps the images there for a post-mortem.
  const char* keep = std::getenv("TERN_DURABILITY_KEEP");
  const std::string base = keep != nullptr && *keep != '\0'
                               ? absl::StrCat(keep, "/", PowerCutLossName(loss))
                               : temp.path();
  const std::string root = base + "/spool";
  auto loop = NewLoop();
  FaultInjectingStorage storage(loop.get(), seed);
  std::mt19937_64 random(seed);
  Told told;
  std::map<uint64_t, std::string> bodies;
  std::vector<CrashImage> images;
  std::map<std::string, int> seen;  // by crash point name
  std::unique_ptr<ShardSpool> spool;
  std::unique_ptr<Workload> workload;
  storage.on_point = [&](CrashPoint point, const std::string&) {
    // A write that carries delivery results is the window between a remote 250 and its
    // DELIVERED record: named on its own.
    const bool results =
        point == CrashPoint::kWriteSubmitted && workload && workload->results_in_flight() > 0;
    const std::string name =
        results ? std::string(kAfterRemote250) : std::string(CrashPointName(point));
    const int n = ++seen[name];
    if (spool && spool->gc_running()) ++seen[kDuringGc];
    // Every occurrence of the rare points (up to 12), a sample of the frequent ones.
    const bool frequent = point == CrashPoint::kWriteSubmitted ||
                          point == CrashPoint::kWriteDurable || point == CrashPoint::kWriteReplied;
    if (frequent ? n % 23 != 1 : n > 12) return;
    CrashImage image;
    image.root = absl::StrCat(base, "/image-", images.size());
    image.where = absl::StrCat("seed ", seed, ", crash point ", name, " #", n,
                               spool && spool->gc_running() ? " (during GC)" : "", ", loss ",
                               PowerCutLossName(loss));
    image.told = told;
    for (uint64_t id : told.acked) {
      if (const QueueEntry* e = spool->index().Find(id)) image.located[id] = e->location();
    }
    std::filesystem::create_directories(image.root);
    const absl::Status taken = storage.TakeCrashImage(ShardDirectory(root, kShard),
                                                      ShardDirectory(image.root, kShard), loss);
    ASSERT_TRUE(taken.ok()) << image.where << ": " << taken;
    images.push_back(std::move(image));
  };
  std::filesystem::create_directories(root);
  ASSERT_TRUE(RunSpool(root, &storage, loop.get(), &spool, [&] {
    if (!workload) workload = std::make_unique<Workload>(spool.get(), &random, &told, &bodies, 600);
    return workload->Step();
  }));
  // The workload must have reached every point, compaction included.
  for (CrashPoint point :
       {CrashPoint::kWriteSubmitted, CrashPoint::kWriteDurable, CrashPoint::kWriteReplied,
        CrashPoint::kCreateSubmitted, CrashPoint::kCloseSubmitted, CrashPoint::kDeleteSubmitted}) {
    EXPECT_GT(seen[CrashPointName(point)], 0) << CrashPointName(point);
  }
  EXPECT_GT(seen[kAfterRemote250], 0) << kAfterRemote250;
  EXPECT_GT(seen[kDuringGc], 0) << kDuringGc;
  EXPECT_GT(spool->counters().messages_copied_forward.load(), 0u);
  EXPECT_GT(told.acked.size(), 300u);
  const int crashes_before = recovery_crashes;
  for (const CrashImage& image : images) CheckImage(image, bodies);
  std::printf(
      "power-cut matrix (%s, seed %llu): %zu images checked, %zu messages acknowledged, %d "
      "crashes inside recovery\n",
      PowerCutLossName(loss), static_cast<unsigned long long>(seed), images.size(),
      told.acked.size(), recovery_crashes - crashes_before);
}

TEST(PowerCutTest, CrashPointMatrixDroppingUnsyncedWrites) {
  CrashPointMatrix(PowerCutLoss::kDrop, 1);
}

TEST(PowerCutTest, CrashPointMatrixTearingUnsyncedWrites) {
  CrashPointMatrix(PowerCutLoss::kTear, 2);
}

TEST(PowerCutTest, CrashPointMatrixScramblingUnsyncedPages) {
  CrashPointMatrix(PowerCutLoss::kPages, 3);
}

// Bit rot inside the acknowledged region (not a power cut: the medium changed bytes that
// an fdatasync had covered): each damaged record is quarantined and reported, never
// silently dropped, and every other acknowledged message is still queued as it was.
// What recovery makes of a damaged record depends on where it lies (spool/recovery.h), and
// that depends on how the batches fell, so the records to damage are chosen from the layout
// on disk and the outcome expected for each is derived from it:
//   - a valid record after it in its segment: a corrupt range (.bad,
//     corrupt_ranges_quarantined);
//   - the last record of its segment: indistinguishable from a torn write, so a torn tail
//     (.torn, torn_tails_truncated);
//   - the latest copy of a message that garbage collection copied forward, whose older copy
//     is still on disk: quarantined as above, and the message comes back from the older copy
//     (with its state records folded in) instead of being lost.
// Three messages with one copy that a valid record follows are always damaged; one that ends
// its segment and one with an older copy are damaged too whenever the layout has them.
TEST(PowerCutTest, CorruptionInsideTheAcknowledgedRegionIsQuarantinedAndReported) {
  TempDir dir;
  const std::string root = dir.path() + "/spool";
  std::filesystem::create_directories(root);
  auto loop = NewLoop();
  FaultInjectingStorage storage(loop.get(), /*seed=*/5);
  std::mt19937_64 random(5);
  Told told;
  std::map<uint64_t, std::string> bodies;
  std::unique_ptr<ShardSpool> spool;
  std::unique_ptr<Workload> workload;
  std::map<uint64_t, RecordLocation> located;  // latest copy of each queued message
  Recovered queued;                            // the queue as the spool left it
  ASSERT_TRUE(RunSpool(root, &storage, loop.get(), &spool, [&] {
    if (!workload)
      workload = std::make_unique<Workload>(spool.get(), &random, &told, &bodies, 1000);
    // Stop long before the drain: most messages still queued.
    if (told.acked.size() < 120) return workload->Step();
    return workload->results_in_flight() == 0;  // no new work; let results land
  }));
  // Shut down: every record handed over has landed, and the index says where.
  for (const auto& [id, entry] : spool->index()) {
    located[id] = entry.location();
    for (uint32_t r = 0; r < entry.recipient_count(); ++r) {
      queued.states[id].push_back(entry.recipient_state(r));
    }
    queued.held[id] = entry.held();
  }
  spool.reset();
  const std::string shard_dir = ShardDirectory(root, kShard);
  // Every valid record on disk: where each starts, and how many MESSAGE copies each id has.
  std::map<uint64_t, std::string> segments;
  std::set<std::pair<uint64_t, uint64_t>> record_starts;  // (segment, offset)
  std::map<uint64_t, int> copies;
  auto listed = ListSegments(shard_dir);
  ASSERT_TRUE(listed.ok()) << listed.status();
  for (uint64_t segment : *listed) {
    const std::string& bytes = segments[segment] = ReadFile(SegmentPath(shard_dir, segment));
    RecordView record;
    for (size_t offset = 0;
         DecodeRecord(absl::string_view(bytes).substr(offset), &record) == DecodeResult::kOk;
         offset += record.record_bytes) {
      record_starts.emplace(segment, offset);
      if (record.type == RecordType::kMessage) ++copies[record.queue_id];
    }
  }
  auto followed = [&](uint64_t id) {
    const RecordLocation& at = located[id];
    return record_starts.contains({at.segment, at.offset + at.record_bytes});
  };
  std::vector<uint64_t> inside, last_in_segment, copied_forward;
  for (const auto& [id, where] : located) {
    ASSERT_TRUE(record_starts.contains({where.segment, where.offset})) << id;
    if (copies[id] > 1) {
      copied_forward.push_back(id);
    } else {
      (followed(id) ? inside : last_in_segment).push_back(id);
    }
  }
  ASSERT_GT(inside.size(), 30u);
  // Two damaged records back to back would make one bad range: never pick a neighbour.
  std::vector<uint64_t> damaged;
  auto adjacent = [&](uint64_t id) {
    const RecordLocation& a = located[id];
    for (uint64_t other : damaged) {
      const RecordLocation& b = located[other];
      if (a.segment == b.segment &&
          (a.offset + a.record_bytes == b.offset || b.offset + b.record_bytes == a.offset)) {
        return true;
      }
    }
    return false;
  };
  for (size_t i : {inside.size() / 5, inside.size() / 2, inside.size() * 4 / 5}) {
    while (i < inside.size() && adjacent(inside[i])) ++i;
    ASSERT_LT(i, inside.size());
    damaged.push_back(inside[i]);
  }
  for (const std::vector<uint64_t>* more : {&last_in_segment, &copied_forward}) {
    for (uint64_t id : *more) {
      if (adjacent(id)) continue;
      damaged.push_back(id);
      break;
    }
  }
  // One payload byte each.
  std::map<uint64_t, std::string> damaged_records;  // by id, as damaged on disk
  size_t corrupt_expected = 0, torn_expected = 0, restored_expected = 0;
  for (uint64_t id : damaged) {
    const RecordLocation& where = located[id];
    std::string& bytes = segments[where.segment];
    bytes[where.offset + where.record_bytes / 2] ^= 0x5a;
    damaged_records[id] = bytes.substr(where.offset, where.record_bytes);
    ++(followed(id) ? corrupt_expected : torn_expected);
    restored_expected += copies[id] > 1 ? 1 : 0;
  }
  for (const auto& [segment, bytes] : segments) WriteFile(SegmentPath(shard_dir, segment), bytes);
  RecoveryStats stats;
  const Recovered recovered = Recover(shard_dir, bodies, &stats);
  EXPECT_EQ(stats.corrupt_ranges_quarantined, corrupt_expected) << stats.ToString();
  EXPECT_EQ(stats.torn_tails_truncated, torn_expected) << stats.ToString();
  size_t lost = 0;
  for (const auto& [id, states] : queued.states) {
    const bool gone = damaged_records.contains(id) && copies[id] == 1;
    lost += gone ? 1 : 0;
    auto found = recovered.states.find(id);
    if (gone) {
      EXPECT_EQ(found, recovered.states.end()) << id << ": its only copy was damaged";
      continue;
    }
    if (found == recovered.states.end()) {
      ADD_FAILURE() << id << " lost" << (damaged_records.contains(id) ? " (older copy)" : "");
      continue;
    }
    EXPECT_EQ(found->second, states) << id << ": recipient states changed";
    EXPECT_EQ(recovered.held.at(id), queued.held.at(id)) << id << ": held flag changed";
  }
  EXPECT_EQ(recovered.states.size(), queued.states.size() - lost);
  // Each damaged record's bytes are in quarantine, under its segment and offset, for an
  // operator to look at: a bad range runs to the next valid record (the damaged record's own
  // length is intact), a torn tail to the segment's last non-zero byte.
  for (uint64_t id : damaged) {
    const RecordLocation& where = located[id];
    const bool bad = followed(id);
    std::string expected = damaged_records[id];
    if (!bad) {
      expected = segments[where.segment].substr(where.offset);
      while (!expected.empty() && expected.back() == '\0') expected.pop_back();
    }
    const std::string path =
        absl::StrFormat("%s/%0*d-%d%s", QuarantineDirectory(shard_dir), kSegmentNumberDigits,
                        where.segment, where.offset, bad ? ".bad" : ".torn");
    EXPECT_EQ(ReadFile(path), expected) << path;
  }
  std::printf(
      "damaged %zu records: %zu corrupt ranges, %zu torn tails, %zu messages restored from an "
      "older copy\n",
      damaged.size(), corrupt_expected, torn_expected, restored_expected);
}

// A result whose write failed (its fdatasync said EIO, but the bytes reached the file, as
// they may) and a different final result for the same recipient acknowledged afterwards:
// recovery must give the acknowledged one, not resurrect the failed record that lies before
// it on disk (the first final result read sticks). Checked on the directory as the spool
// left it and on power-cut images taken after the acknowledgement.
TEST(PowerCutTest, AFailedResultWriteNeverOverridesALaterAcknowledgedResult) {
  for (const PowerCutLoss loss : {PowerCutLoss::kDrop, PowerCutLoss::kTear, PowerCutLoss::kPages}) {
    SCOPED_TRACE(PowerCutLossName(loss));
    TempDir dir;
    const std::string root = dir.path() + "/spool";
    const std::string image = dir.path() + "/image";
    std::filesystem::create_directories(root);
    std::filesystem::create_directories(image);
    auto loop = NewLoop();
    FaultInjectingStorage storage(loop.get(), /*seed=*/7);
    std::map<uint64_t, std::string> bodies;
    std::unique_ptr<ShardSpool> spool;
    uint64_t id = 0;
    int step = 0;  // 0: commit, 1: DELIVERED (fails), 2: BOUNCED (acknowledged), 3: cut
    bool waiting = false;
    absl::Status delivered_status, bounced_status;
    auto result = [](RecipientState state) {
      RecipientResult r;
      r.recipient = 1;
      r.state = state;
      r.attempts = 1;
      r.reply_code = state == RecipientState::kDelivered ? 250 : 550;
      return r;
    };
    ASSERT_TRUE(RunSpool(root, &storage, loop.get(), &spool, [&] {
      if (waiting) return false;
      switch (step) {
        case 0: {
          id = spool->NextQueueId();
          bodies[id] = Body(1, 500);
          core::ByteBuffer record;
          CHECK(spool->BeginMessage(id, Envelope(), &record).ok());
          record.Append(bodies[id]);
          waiting = true;
          spool->CommitMessage(id, std::move(record), [&](absl::Status s) {
            EXPECT_TRUE(s.ok()) << s;
            waiting = false;
            step = 1;
          });
          return false;
        }
        case 1: {
          storage.Inject({.op = FaultOp::kSync, .nth = storage.calls(FaultOp::kSync) + 1});
          const RecipientResult r = result(RecipientState::kDelivered);
          waiting = true;
          spool->RecordRecipientResults(id, {&r, 1}, [&](absl::Status s) {
            delivered_status = s;
            waiting = false;
            step = 2;
          });
          return false;
        }
        case 2: {
          storage.ClearFaults();
          const RecipientResult r = result(RecipientState::kBounced);
          waiting = true;
          spool->RecordRecipientResults(id, {&r, 1}, [&](absl::Status s) {
            bounced_status = s;
            waiting = false;
            step = 3;
          });
          return false;
        }
        default:
          EXPECT_TRUE(
              storage
                  .TakeCrashImage(ShardDirectory(root, kShard), ShardDirectory(image, kShard), loss)
                  .ok());
          return true;
      }
    }));
    spool.reset();
    EXPECT_FALSE(delivered_status.ok());
    ASSERT_TRUE(bounced_status.ok()) << bounced_status;
    for (const std::string& where : {root, image}) {
      const Recovered recovered = Recover(ShardDirectory(where, kShard), bodies);
      ASSERT_TRUE(recovered.states.contains(id)) << where;
      EXPECT_EQ(recovered.states.at(id)[1], RecipientState::kBounced) << where;
      EXPECT_EQ(recovered.states.at(id)[0], RecipientState::kPending) << where;
    }
  }
}

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::strtoull(value, nullptr, 10) : fallback;
}

// Load + injected faults + a power cut at a random point + recovery, cycle after cycle; each
// cycle continues on the previous cycle's recovered image.
TEST(PowerCutTest, RandomizedLoadCutRecoverCycles) {
  const uint64_t seed = EnvOr("TERN_DURABILITY_SEED", std::random_device{}());
  const uint64_t cycles = EnvOr("TERN_DURABILITY_CYCLES", 12);
  std::printf(
      "randomized power-cut cycles: seed %llu (replay: TERN_DURABILITY_SEED=%llu), %llu "
      "cycles\n",
      static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed),
      static_cast<unsigned long long>(cycles));
  std::fflush(stdout);
  TempDir dir;
  std::mt19937_64 random(seed);
  std::map<uint64_t, std::string> bodies;
  Told told;
  std::string root = dir.path() + "/cycle-0";
  std::filesystem::create_directories(root);
  for (uint64_t cycle = 1; cycle <= cycles; ++cycle) {
    auto loop = NewLoop();
    FaultInjectingStorage storage(loop.get(), random());
    // Some cycles with failing syncs and writes (torn or not), some with a full disk.
    if (random() % 3 == 0) storage.Inject({.op = FaultOp::kSync, .rate = 0.03, .error = EIO});
    if (random() % 4 == 0) {
      storage.Inject({.op = FaultOp::kWrite, .rate = 0.02, .error = EIO, .tear = true});
    }
    if (random() % 4 == 0) {
      storage.Inject({.op = FaultOp::kCreate, .rate = 0.3, .error = ENOSPC});
    }
    const auto point = static_cast<CrashPoint>(random() % 6);
    const int occurrence = 1 + static_cast<int>(random() % 40);
    const auto loss = static_cast<PowerCutLoss>(random() % 3);
    CrashImage image;
    image.root = absl::StrCat(dir.path(), "/cycle-", cycle);
    image.where =
        absl::StrCat("seed ", seed, ", cycle ", cycle, ", crash point ", CrashPointName(point),
                     " #", occurrence, ", loss ", PowerCutLossName(loss));
    SCOPED_TRACE(image.where);
    bool cut = false;
    int seen = 0;
    storage.on_point = [&](CrashPoint p, const std::string&) {
      if (cut || p != point || ++seen < occurrence) return;
      cut = true;
      image.told = told;
      std::filesystem::create_directories(image.root);
      const absl::Status taken = storage.TakeCrashImage(ShardDirectory(root, kShard),
                                                        ShardDirectory(image.root, kShard), loss);
      ASSERT_TRUE(taken.ok()) << taken;
    };
    std::unique_ptr<ShardSpool> spool;
    std::unique_ptr<Workload> workload;
    std::mt19937_64 load_random(random());
    ASSERT_TRUE(RunSpool(root, &storage, loop.get(), &spool, [&] {
      if (!workload) {
        workload = std::make_unique<Workload>(spool.get(), &load_random, &told, &bodies, 250);
      }
      return cut || workload->Step();
    }));
    spool.reset();
    if (!cut) {  // the point never came: the cut happens after a clean shutdown
      image.told = told;
      std::filesystem::create_directories(image.root);
      std::filesystem::copy(ShardDirectory(root, kShard), ShardDirectory(image.root, kShard),
                            std::filesystem::copy_options::recursive);
    }
    const Recovered recovered = CheckImage(image, bodies);
    if (::testing::Test::HasFailure()) return;
    // The next cycle starts from what survived: acknowledged = what is queued now.
    told.acked.clear();
    told.final_results.clear();
    told.final_handed.clear();
    for (const auto& [id, states] : recovered.states) {
      told.acked.insert(id);
      for (uint32_t r = 0; r < states.size(); ++r) {
        if (!IsFinalRecipientState(states[r])) continue;
        told.final_results[id][r] = states[r];
        told.final_handed[id].insert(r);
      }
    }
    std::filesystem::remove_all(root);
    root = image.root;
  }
}

}  // namespace
}  // namespace tern::spool::testing
