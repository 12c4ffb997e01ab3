// Memory of a large queue (issue 16: "1,000,000 queued messages over 100,000 destinations:
// <= 300 bytes per message plus <= 1 KiB per destination"), measured on the real structures
// one shard keeps, with jemalloc's stats.allocated (ternd's allocator; bytes in the size
// classes handed out, so rounding up counts) before and after each is filled:
//
//   per message   its QueueIndex entry (spool/queue_index.h: map slot plus the block with
//                 sender and recipients), and then either
//                   deferred:  its ScheduledQueue entry (the retry timer) and one attempt
//                              note in the index's AttemptHistory (the reply interned once
//                              per destination), or
//                   throttled: its job waiting in its lane's pending queue (as a WaitingJob,
//                              delivery/waiting_job.h) and the
//                              agent's per-message record (DeliveryAgent::ActiveMessage,
//                              private, mirrored here with the same members)
//   per destination  its Lane as DeliveryAgent::NewLane and LaneShaper::Resolve build it (in
//                 a map by lane key as the agent keeps them; two MX hosts; built-in
//                 shaping defaults): the lane, its SiteHealth, its throttle cell in the
//                 ThrottleRegistry, labels, its wake timer (the agent's is private: a
//                 timer of the same size here), and its DestinationStatsBook entry (the
//                 book counts at most kDestinationsMax per shard)
//
// Per destination is split as lane_B_per_dest (the Lane and what NewLane gives it; note
// that an empty std::deque, its pending queue, already holds a 512-byte block and a 64-byte
// map in libstdc++), resolve_B_per_dest (LaneShaper::Resolve: throttle path and cells,
// labels, scopes), rollup_B_per_dest (its MX rollup group, delivery/site_rollup.h) and
// stats_B_per_dest. Not counted: the DNS cache and outbound connection
// pools (per address, not per queued message), and the body (on disk). One benchmark run
// builds everything once; the figures are counters: B_per_msg_deferred,
// B_per_msg_throttled, B_per_destination, each part, and the sizeof of the main structs.
//
//   build/bin/queue_memory_bench                       # 1,000,000 messages, 100,000 destinations
//   build/bin/queue_memory_bench --messages=100000 --destinations=10000
#include <jemalloc/jemalloc.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "core/byte_buffer.h"
#include "core/check.h"
#include "core/loop.h"
#include "delivery/delivery_job.h"
#include "delivery/destination_stats.h"
#include "delivery/lane.h"
#include "delivery/lane_shaper.h"
#include "delivery/site_rollup.h"
#include "delivery/waiting_job.h"
#include "engine/io_engine.h"
#include "queue/retry_schedule.h"
#include "queue/scheduled_queue.h"
#include "queue/shaping_state.h"
#include "spool/attempt_history.h"
#include "spool/message_record.h"
#include "spool/queue_index.h"
#include "spool/record_format.h"

ABSL_FLAG(int64_t, messages, 1'000'000, "queued messages");
ABSL_FLAG(int64_t, destinations, 100'000, "destinations they are spread over");

namespace tern::queue {
namespace {

// Bytes the application holds from jemalloc now (after refreshing its statistics).
size_t AllocatedBytes() {
  CHECK(mallctl("thread.tcache.flush", nullptr, nullptr, nullptr, 0) == 0);
  uint64_t epoch = 1;
  size_t epoch_bytes = sizeof(epoch);
  CHECK(mallctl("epoch", &epoch, &epoch_bytes, &epoch, epoch_bytes) == 0);
  size_t allocated = 0;
  size_t allocated_bytes = sizeof(allocated);
  CHECK(mallctl("stats.allocated", &allocated, &allocated_bytes, nullptr, 0) == 0);
  return allocated;
}

// What DeliveryAgent keeps per message being delivered (its private ActiveMessage).
struct ActiveMessageMirror {
  uint32_t jobs_left = 0;
  uint32_t jobs_waiting = 0;
  uint32_t attempt = 0;
  uint64_t generation = 0;
};

// A lane's wake timer (the agent's LaneWakeTimer is private): a timer and two pointers.
class WakeTimerMirror final : public core::Timer {
 public:
  WakeTimerMirror(void* agent, delivery::Lane* lane) : agent_(agent), lane_(lane) {}
  void OnTimer() override {}
  void* agent() const { return agent_; }
  delivery::Lane* lane() const { return lane_; }

 private:
  void* agent_;
  delivery::Lane* lane_;
};

std::string Domain(int64_t destination) { return absl::StrCat("d", destination, ".example"); }

// A QueueEntry as recovery or reception makes it: from a real MESSAGE record.
spool::QueueEntry Entry(int64_t message, int64_t destinations, absl::Time received) {
  const std::string recipient =
      absl::StrCat("user", message % 100'000, "@", Domain(message % destinations));
  const spool::RecipientEnvelope rcpt{.address = recipient};
  spool::MessageEnvelope envelope;
  envelope.received_unix_us = absl::ToUnixMicros(received);
  envelope.client_address = "192.0.2.10";
  envelope.helo = "app1.sender.example";
  envelope.sender = "newsletter@sender.example";
  envelope.recipients = {&rcpt, 1};
  core::ByteBuffer record;
  CHECK(spool::BeginMessageRecord(static_cast<uint64_t>(message + 1), envelope, &record).ok());
  spool::MessageRecordView view;
  CHECK(view.Parse(record.view().substr(spool::kRecordHeaderBytes)));
  return spool::QueueEntry::FromMessage(
      {.segment = 1, .offset = static_cast<uint64_t>(message) * 4096, .record_bytes = 4096}, view);
}

void BM_QueueMemory(benchmark::State& state) {
  const int64_t messages = absl::GetFlag(FLAGS_messages);
  const int64_t destinations = absl::GetFlag(FLAGS_destinations);
  CHECK(messages > 0 && destinations > 0);
  auto loop = engine::CreateLoop(engine::IoEngine::kUring);
  CHECK(loop.ok());
  const absl::Time now = absl::Now();
  const queue::RetrySchedule flags_retry =
      *queue::RetrySchedule::Parse("5m,10m,20m,40m,1h", absl::Hours(24 * 5));

  for (auto _ : state) {
    // Messages: the index.
    const size_t before_index = AllocatedBytes();
    auto index = std::make_unique<spool::QueueIndex>();
    for (int64_t m = 0; m < messages; ++m) {
      index->Insert(static_cast<uint64_t>(m + 1), Entry(m, destinations, now));
    }
    const size_t after_index = AllocatedBytes();

    // Deferred: the retry timer and one attempt note each.
    auto scheduled = std::make_unique<queue::ScheduledQueue>(loop->get(), [](uint64_t) {});
    for (int64_t m = 0; m < messages; ++m) {
      scheduled->Add(static_cast<uint64_t>(m + 1),
                     absl::ToUnixMicros(now + absl::Minutes(5) + absl::Microseconds(m * 997)));
    }
    const size_t after_scheduled = AllocatedBytes();
    for (int64_t m = 0; m < messages; ++m) {
      const std::string host = absl::StrCat("mx1.", Domain(m % destinations));
      index->mutable_history()->Add(
          static_cast<uint64_t>(m + 1),
          spool::AttemptNote::From({.recipient = 0,
                                    .state = spool::RecipientState::kDeferred,
                                    .attempts = 1,
                                    .reply_code = 451,
                                    .enhanced_code = "4.7.1",
                                    .reply_text = "Try again later, too many messages",
                                    .destination_host = host},
                                   absl::ToUnixMicros(now)));
    }
    const size_t after_history = AllocatedBytes();

    // Destinations: a lane each, resolved, with its stats entry.
    queue::ShapingState shaping(nullptr, "");
    delivery::LaneShaper shaper(&shaping, &flags_retry);
    delivery::DestinationStatsBook stats;
    const size_t before_lanes = AllocatedBytes();
    auto lanes =
        std::make_unique<absl::flat_hash_map<std::string, std::unique_ptr<delivery::Lane>>>();
    std::vector<delivery::Lane*> lane_of(static_cast<size_t>(destinations));
    for (int64_t d = 0; d < destinations; ++d) {
      const std::string domain = Domain(d);
      delivery::Nexthop nexthop{.host = domain, .port = 25, .mx_lookup = true};
      std::string key = delivery::LaneKey(nexthop);
      auto lane = std::make_unique<delivery::Lane>();
      lane->key = key;
      lane->nexthop = nexthop;
      lane->health = shaping.site_health().Get(lane->key);
      lane->domain = domain;
      lane->wake = std::make_unique<WakeTimerMirror>(nullptr, lane.get());
      lane->mx_hosts = {absl::StrCat("mx1.", domain), absl::StrCat("mx2.", domain)};
      lane_of[static_cast<size_t>(d)] = lane.get();
      lanes->emplace(std::move(key), std::move(lane));
    }
    const size_t after_lane_objects = AllocatedBytes();
    for (delivery::Lane* lane : lane_of) shaper.Resolve(lane, now);
    const size_t after_resolve = AllocatedBytes();
    // MX rollup: each lane in its site's group (a group of one here: every site differs).
    delivery::SiteRollup rollup;
    for (delivery::Lane* lane : lane_of) rollup.Place(lane, delivery::RollupGroup(*lane));
    const size_t after_rollup = AllocatedBytes();
    for (delivery::Lane* lane : lane_of) {
      stats.NoteResult(lane->key, lane->DestinationName(), net::smtp::DeliveryOutcome::kTempFailed,
                       "451 4.7.1 Try again later, too many messages", now);
    }
    const size_t after_lanes = AllocatedBytes();

    // Throttled: every message's job waits in its lane.
    auto active = std::make_unique<absl::flat_hash_map<uint64_t, ActiveMessageMirror>>();
    for (int64_t m = 0; m < messages; ++m) {
      delivery::Lane* lane = lane_of[static_cast<size_t>(m % destinations)];
      const uint64_t id = static_cast<uint64_t>(m + 1);
      ActiveMessageMirror& a = (*active)[id];
      a.attempt = 1;
      a.generation = id;
      a.jobs_left = 1;
      a.jobs_waiting = 1;
      delivery::DeliveryJob job{.queue_id = id, .recipients = {0}, .attempt = 1, .generation = id};
      job.labels = lane->labels;
      job.retry = lane->retry;
      job.throttled_since = now;
      lane->pending.push_back(delivery::WaitingJob::From(std::move(job), /*pool=*/nullptr));
    }
    const size_t after_jobs = AllocatedBytes();

    const double n = static_cast<double>(messages);
    const double index_per_message = static_cast<double>(after_index - before_index) / n;
    const double scheduled_per_message = static_cast<double>(after_scheduled - after_index) / n;
    const double history_per_message = static_cast<double>(after_history - after_scheduled) / n;
    const double jobs_per_message = static_cast<double>(after_jobs - after_lanes) / n;
    const double per_destination =
        static_cast<double>(after_lanes - before_lanes) / static_cast<double>(destinations);
    state.counters["index_B_per_msg"] = index_per_message;
    state.counters["scheduled_B_per_msg"] = scheduled_per_message;
    state.counters["history_B_per_msg"] = history_per_message;
    state.counters["lane_job_B_per_msg"] = jobs_per_message;
    state.counters["B_per_msg_deferred"] =
        index_per_message + scheduled_per_message + history_per_message;
    state.counters["B_per_msg_throttled"] = index_per_message + jobs_per_message;
    state.counters["B_per_destination"] = per_destination;
    const double dests = static_cast<double>(destinations);
    state.counters["lane_B_per_dest"] =
        static_cast<double>(after_lane_objects - before_lanes) / dests;
    state.counters["resolve_B_per_dest"] =
        static_cast<double>(after_resolve - after_lane_objects) / dests;
    state.counters["rollup_B_per_dest"] = static_cast<double>(after_rollup - after_resolve) / dests;
    state.counters["stats_B_per_dest"] = static_cast<double>(after_lanes - after_rollup) / dests;
    state.counters["sizeof_ShapingOptions"] = sizeof(queue::ShapingOptions);
    state.counters["sizeof_ClientConfig"] = sizeof(net::smtp::ClientConfig);
    state.counters["sizeof_ScopeThrottle"] = sizeof(queue::ScopeThrottle);
    state.counters["sizeof_SiteHealth"] = sizeof(queue::SiteHealth);
    state.counters["sizeof_QueueEntry"] = sizeof(spool::QueueEntry);
    state.counters["sizeof_DeliveryJob"] = sizeof(delivery::DeliveryJob);
    state.counters["sizeof_Lane"] = sizeof(delivery::Lane);
    state.counters["lanes"] = static_cast<double>(lanes->size());
    state.counters["stats_entries"] = static_cast<double>(stats.size());
    state.counters["replies_interned"] = static_cast<double>(index->history().replies());

    state.PauseTiming();  // freeing is not measured
    active.reset();
    lanes.reset();
    scheduled.reset();
    index.reset();
    state.ResumeTiming();
  }
}
BENCHMARK(BM_QueueMemory)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tern::queue

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);  // takes the --benchmark_* flags
  absl::ParseCommandLine(argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
