// ReadMessage throughput: MESSAGE records read back through the ring (READ into an owned
// buffer, checksum verified, envelope parsed), as the delivery code does before sending.
// The segments are in the page cache after the fill, so this measures the read path, not
// the disk. TERN_SPOOL_BENCH_DIR picks the directory (default: next to the binary).
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "core/check.h"
#include "core/loop.h"
#include "engine/io_engine.h"
#include "spool/shard_spool.h"

namespace tern::spool {
namespace {

constexpr int kMessages = 2'000;

std::string BenchDirectory() {
  if (const char* dir = getenv("TERN_SPOOL_BENCH_DIR")) return dir;
  return std::filesystem::read_symlink("/proc/self/exe").parent_path().string();
}

SpoolOptions Options(const std::string& dir) {
  SpoolOptions o;
  o.spool_dir = dir;
  o.gc_interval = absl::ZeroDuration();
  o.sync = SyncMode::kNone;  // the fill is not what is measured
  return o;
}

// Fills a spool with kMessages messages of `body_bytes`; returns their ids.
std::vector<uint64_t> Fill(const std::string& dir, size_t body_bytes) {
  auto loop = engine::CreateLoop(engine::IoEngine::kUring);
  CHECK(loop.ok());
  std::unique_ptr<StorageBackend> storage = engine::CreateStorage(loop->get());
  SpoolOptions options = Options(dir);
  options.storage = storage.get();
  auto spool = ShardSpool::Open(loop->get(), options);
  CHECK(spool.ok());
  const RecipientEnvelope rcpt[] = {{"rcpt@example.org", 0, ""}};
  MessageEnvelope envelope;
  envelope.sender = "sender@example.com";
  envelope.recipients = rcpt;
  const std::string body(body_bytes, 'x');
  std::vector<uint64_t> ids;
  int durable = 0;
  for (int i = 0; i < kMessages; ++i) {
    const uint64_t id = (*spool)->NextQueueId();
    core::ByteBuffer record;
    CHECK((*spool)->BeginMessage(id, envelope, &record).ok());
    record.Append(body);
    (*spool)->CommitMessage(id, std::move(record), [&](absl::Status s) {
      CHECK(s.ok());
      if (++durable == kMessages) (*spool)->Shutdown([&] { (*loop)->Stop(); });
    });
    ids.push_back(id);
  }
  (*loop)->Wake();
  (*loop)->Run();
  return ids;
}

// state.range(0): body bytes; state.range(1): reads in flight per loop iteration.
void BM_ReadMessage(benchmark::State& state) {
  const size_t body_bytes = static_cast<size_t>(state.range(0));
  const size_t batch = static_cast<size_t>(state.range(1));
  std::string dir = BenchDirectory() + "/spool_read_bench.XXXXXX";
  CHECK(mkdtemp(dir.data()) != nullptr);
  const std::vector<uint64_t> ids = Fill(dir, body_bytes);
  auto loop = engine::CreateLoop(engine::IoEngine::kUring);
  CHECK(loop.ok());
  {
    std::unique_ptr<StorageBackend> storage = engine::CreateStorage(loop->get());
    SpoolOptions options = Options(dir);
    options.storage = storage.get();
    auto spool = ShardSpool::Open(loop->get(), options);
    CHECK(spool.ok());
    size_t outstanding = 0, next = 0;
    uint64_t bytes = 0, reads = 0;
    bool shutting_down = false;
    (*loop)->AddIterationHook([&] {
      if (outstanding > 0 || shutting_down) return;
      if (!state.KeepRunning()) {
        shutting_down = true;
        (*spool)->Shutdown([&] { (*loop)->Stop(); });
        return;
      }
      for (size_t i = 0; i < batch; ++i) {
        ++outstanding;
        (*spool)->ReadMessage(ids[next++ % ids.size()], [&](absl::StatusOr<LoadedMessage> m) {
          CHECK(m.ok());
          bytes += m->body().size();
          ++reads;
          --outstanding;
        });
      }
    });
    (*loop)->Wake();
    (*loop)->Run();
    state.counters["msgs/s"] =
        benchmark::Counter(static_cast<double>(reads), benchmark::Counter::kIsRate);
    state.counters["MB/s"] =
        benchmark::Counter(static_cast<double>(bytes) / 1e6, benchmark::Counter::kIsRate);
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_ReadMessage)
    ->ArgsProduct({{2 << 10, 64 << 10}, {1, 32}})
    ->ArgNames({"body", "batch"})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace tern::spool
