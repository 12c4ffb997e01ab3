// Scheduling cost against queue length (issue 16: "scheduling cost independent of queue
// length"): the retry timer (queue/scheduled_queue.h) holding N messages due later, on a
// real core::Loop and its timer wheel. Each batch adds kBatch messages already due and lets
// the timer hand them back (ScheduledQueue::OnDue through TimerWheel::Advance, as the loop
// does), and the due callback looks each up in a QueueIndex of N entries, as
// DeliveryAgent::ScheduleMessage does first. Time per message = one Add, one hand-out and
// one index lookup; N stays constant, so 10k, 100k and 1M in one run show how the cost
// grows (a red-black tree and a btree: O(log n), plus cache misses as N outgrows the caches).
//
//   build/bin/queue_bench --benchmark_filter=ScheduledQueue
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "core/byte_buffer.h"
#include "core/check.h"
#include "core/loop.h"
#include "engine/io_engine.h"
#include "queue/scheduled_queue.h"
#include "spool/message_record.h"
#include "spool/queue_index.h"
#include "spool/record_format.h"

namespace tern::queue {
namespace {

constexpr int64_t kBatch = 4096;  // ScheduledQueue::kDuePerTick: one timer callback's worth

// N messages waiting (due in 1 h .. 5 days, random order) and N + kBatch entries in the
// index; the batch's ids are spread over the index (every stride-th id), as due messages
// are. Kept across the benchmark's repeated calls for the same N.
struct Backlog {
  std::unique_ptr<core::Loop> loop;
  std::unique_ptr<spool::QueueIndex> index;
  std::unique_ptr<ScheduledQueue> scheduled;
  std::vector<uint64_t> batch;  // ids added already due, each batch
  bool look_up = true;          // the due callback looks the message up in the index
  uint64_t handed = 0;
  uint64_t found = 0;
  int64_t length = 0;
};

spool::QueueEntry SmallEntry() {
  const spool::RecipientEnvelope rcpt{.address = "user@d1.example"};
  spool::MessageEnvelope envelope;
  envelope.sender = "newsletter@sender.example";
  envelope.recipients = {&rcpt, 1};
  core::ByteBuffer record;
  CHECK(spool::BeginMessageRecord(1, envelope, &record).ok());
  spool::MessageRecordView view;
  CHECK(view.Parse(record.view().substr(spool::kRecordHeaderBytes)));
  return spool::QueueEntry::FromMessage({}, view);
}

Backlog* BacklogOf(int64_t length) {
  static std::unique_ptr<Backlog> backlog;  // one N at a time: 1M entries are ~200 MB
  if (backlog != nullptr && backlog->length == length) return backlog.get();
  backlog.reset();
  auto b = std::make_unique<Backlog>();
  b->length = length;
  auto loop = engine::CreateLoop(engine::IoEngine::kUring);
  CHECK(loop.ok());
  b->loop = std::move(*loop);
  b->index = std::make_unique<spool::QueueIndex>();
  Backlog* raw = b.get();
  b->scheduled = std::make_unique<ScheduledQueue>(b->loop.get(), [raw](uint64_t id) {
    ++raw->handed;
    if (raw->look_up) raw->found += raw->index->Find(id) != nullptr ? 1 : 0;
  });
  std::mt19937_64 random(static_cast<uint64_t>(length));
  const int64_t later_us =
      absl::ToUnixMicros(b->loop->now()) + absl::ToInt64Microseconds(absl::Hours(1));
  const uint64_t spread_us = absl::ToInt64Microseconds(absl::Hours(24 * 5));
  const uint64_t total = static_cast<uint64_t>(length + kBatch);
  const uint64_t stride = total / kBatch;
  for (uint64_t id = 1; id <= total; ++id) {
    b->index->Insert(id, SmallEntry());
    if (id % stride == 0 && b->batch.size() < kBatch) {
      b->batch.push_back(id);
    } else {
      b->scheduled->Add(id, later_us + static_cast<int64_t>(random() % spread_us));
    }
  }
  backlog = std::move(b);
  return backlog.get();
}

void BM_ScheduledQueueAddAndTakeDue(benchmark::State& state) {
  Backlog* b = BacklogOf(state.range(0));
  core::Loop* loop = b->loop.get();
  const int64_t due_us = absl::ToUnixMicros(loop->now()) - 1;  // already due
  const size_t length = b->scheduled->size();
  b->look_up = state.range(1) != 0;
  const uint64_t handed_before = b->handed;
  const uint64_t found_before = b->found;
  for (auto _ : state) {
    int64_t earlier_us = 0;
    for (uint64_t id : b->batch) b->scheduled->Add(id, due_us - earlier_us++);
    loop->timers().Advance(loop->now() + absl::Milliseconds(20));  // one timer callback
  }
  CHECK(b->scheduled->size() == length);
  const uint64_t handed = static_cast<uint64_t>(state.iterations() * kBatch);
  CHECK(b->handed - handed_before == handed);
  CHECK(b->found - found_before == (b->look_up ? handed : 0));
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["length"] = static_cast<double>(length);
}
// Args: queue length, then 0: the retry timer alone, 1: with the index lookup.
BENCHMARK(BM_ScheduledQueueAddAndTakeDue)
    ->ArgNames({"queue_length", "index_lookup"})
    ->ArgsProduct({{10'000, 100'000, 1'000'000}, {0, 1}});

}  // namespace
}  // namespace tern::queue
