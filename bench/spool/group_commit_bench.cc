// Spool micro-benchmarks: record encode / verify throughput, CRC-32C, and the group commit
// on a real io_uring ring writing a temporary directory on the real disk (next to the
// binary, or $TERN_SPOOL_BENCH_DIR; not /tmp, which may be tmpfs), with and without
// fdatasync, at 4 KiB messages and 1, 16 or 128 messages per loop iteration.
//
//   build/bin/spool_bench --benchmark_filter=GroupCommit
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "core/loop.h"
#include "engine/io_engine.h"
#include "spool/crc32c.h"
#include "spool/group_commit.h"
#include "spool/message_record.h"
#include "spool/record_codec.h"

namespace tern::spool {
namespace {

constexpr size_t kMessageBytes = 4096;

const RecipientEnvelope kRecipients[] = {{"rcpt@example.org", 0, ""}};

MessageEnvelope Envelope() {
  MessageEnvelope e;
  e.received_unix_us = 1'700'000'000'000'000;
  e.client_address = "192.0.2.1";
  e.helo = "client.example.com";
  e.sender = "sender@example.com";
  e.recipients = kRecipients;
  return e;
}

// A record whose total size is `bytes`.
core::ByteBuffer MessageRecord(uint64_t id, size_t bytes) {
  core::ByteBuffer record(bytes);
  CHECK(BeginMessageRecord(id, Envelope(), &record).ok());
  CHECK_LE(record.size(), bytes);
  const size_t body = bytes - record.size();
  char* at = record.Extend(body);
  for (size_t i = 0; i < body; ++i) at[i] = static_cast<char>('a' + i % 26);
  FinishRecord(&record);
  return record;
}

void BM_RecordEncode(benchmark::State& state) {
  const std::string body(static_cast<size_t>(state.range(0)), 'b');
  core::ByteBuffer record(body.size() + 256);
  for (auto _ : state) {
    record.Clear();
    CHECK(BeginMessageRecord(1, Envelope(), &record).ok());
    record.Append(body);
    FinishRecord(&record);
    benchmark::DoNotOptimize(record.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * record.size()));
}
BENCHMARK(BM_RecordEncode)->Arg(4096)->Arg(64 << 10)->Arg(1 << 20);

void BM_RecordVerify(benchmark::State& state) {
  const core::ByteBuffer record = MessageRecord(1, static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    RecordView view;
    CHECK(DecodeRecord(record.view(), &view) == DecodeResult::kOk);
    MessageRecordView message;
    CHECK(message.Parse(view.payload));
    benchmark::DoNotOptimize(message.body().data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * record.size()));
}
BENCHMARK(BM_RecordVerify)->Arg(4096)->Arg(64 << 10)->Arg(1 << 20);

void BM_Crc32cPortable(benchmark::State& state) {
  const std::string data(static_cast<size_t>(state.range(0)), 'x');
  for (auto _ : state) {
    benchmark::DoNotOptimize(crc32c::ExtendPortable(0, data.data(), data.size()));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_Crc32cPortable)->Arg(64 << 10);

std::string BenchDirectory() {
  if (const char* dir = getenv("TERN_SPOOL_BENCH_DIR")) return dir;
  return std::filesystem::read_symlink("/proc/self/exe").parent_path().string();
}

// state.range(0): messages appended per loop iteration; state.range(1): 1 = fdatasync.
void BM_GroupCommit(benchmark::State& state) {
  const size_t batch = static_cast<size_t>(state.range(0));
  const SyncMode sync = state.range(1) ? SyncMode::kFdatasync : SyncMode::kNone;
  std::string dir = BenchDirectory() + "/spool_bench.XXXXXX";
  CHECK(mkdtemp(dir.data()) != nullptr);
  auto loop = engine::CreateLoop(engine::IoEngine::kUring);
  CHECK(loop.ok());
  {
    std::unique_ptr<StorageBackend> storage = engine::CreateStorage(loop->get());
    SpoolCounters counters;
    GroupCommitOptions options;
    options.shard_dir = dir;
    options.segment_bytes = kSegmentBytesDefault;
    options.sync = sync;
    GroupCommit commit(loop->get(), storage.get(), options, &counters);
    const core::ByteBuffer prototype = MessageRecord(1, kMessageBytes);

    size_t outstanding = 0;
    bool shutting_down = false;
    (*loop)->AddIterationHook([&] {
      if (outstanding > 0 || shutting_down) return;
      if (!state.KeepRunning()) {
        shutting_down = true;
        commit.Shutdown([&] { (*loop)->Stop(); });
        return;
      }
      for (size_t i = 0; i < batch; ++i) {
        core::ByteBuffer record(prototype.size());
        record.Append(prototype.view());
        ++outstanding;
        commit.Append(std::move(record), [&](absl::Status s) {
          CHECK(s.ok());
          --outstanding;
        });
      }
    });
    (*loop)->Wake();
    (*loop)->Run();
    const double messages = static_cast<double>(counters.records.load());
    state.counters["msgs/s"] = benchmark::Counter(messages, benchmark::Counter::kIsRate);
    state.counters["MB/s"] = benchmark::Counter(static_cast<double>(counters.bytes.load()) / 1e6,
                                                benchmark::Counter::kIsRate);
    state.counters["records/commit"] =
        counters.commits.load() ? messages / static_cast<double>(counters.commits.load()) : 0;
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_GroupCommit)
    ->ArgsProduct({{1, 16, 128}, {1, 0}})
    ->ArgNames({"batch", "fdatasync"})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace tern::spool
