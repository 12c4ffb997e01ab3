// SuppressionIndex (suppression/suppression_index.h) at the scale of issue 18: 10 million
// entries (addresses of ~26 bytes, short event ids) loaded as the journal's replay would,
// with the RSS growth (/proc/self/statm) and the index's own count of its bytes; then the
// ns per Check at RCPT: a hit, a miss, with 10M entries and with none, on one and two
// threads. Run: build/bin/suppression_bench (BM_Load first: the Check benchmarks use it).
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "benchmark/benchmark.h"
#include "suppression/suppression_index.h"

namespace tern::suppression {
namespace {

constexpr int kEntries = 10'000'000;
constexpr int kQueries = 1 << 20;
constexpr int64_t kNow = 1800000000;

size_t ResidentBytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long size = 0;
  unsigned long resident = 0;
  const int n = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  return n == 2 ? resident * static_cast<size_t>(sysconf(_SC_PAGESIZE)) : 0;
}

std::string Address(int i) { return absl::StrFormat("user%d@dom%d.example", i, i % 1000); }

SuppressionIndex* Loaded() {
  static SuppressionIndex* index = new SuppressionIndex;
  return index;
}

// Query addresses, made before any timing: present (hits) or never added (misses).
std::vector<std::string>* MakeQueries(bool present) {
  auto* out = new std::vector<std::string>;
  std::mt19937 random(present ? 1 : 2);
  for (int i = 0; i < kQueries; ++i) {
    const int n = static_cast<int>(random() % kEntries);
    out->push_back(present ? Address(n) : absl::StrFormat("nobody%d@dom%d.example", n, n % 1000));
  }
  return out;
}

const std::vector<std::string>& Queries(bool hits) {
  static const std::vector<std::string>* present = MakeQueries(true);
  static const std::vector<std::string>* absent = MakeQueries(false);
  return hits ? *present : *absent;
}

void BM_Load(benchmark::State& state) {
  Queries(true);  // made before the RSS is measured
  for (auto _ : state) {
    SuppressionIndex* index = Loaded();
    const size_t before = ResidentBytes();
    Entry entry;
    entry.reason = Reason::kHardBounce;
    entry.created = kNow - 86400;
    for (int i = 0; i < kEntries; ++i) {
      entry.target = Address(i);
      entry.event = absl::StrFormat("evt-%010d", i);
      index->Put(entry);
    }
    index->ReleaseRetiredTables();  // start-up: no reader yet (as after the journal replay)
    const size_t after = ResidentBytes();
    state.counters["entries"] = static_cast<double>(index->size());
    state.counters["rss_growth_MiB"] = static_cast<double>(after - before) / (1 << 20);
    state.counters["index_MiB"] = static_cast<double>(index->memory_bytes()) / (1 << 20);
    state.counters["table_slots"] = static_cast<double>(index->table_slots());
    state.counters["bytes_per_entry"] = static_cast<double>(after - before) / kEntries;
  }
  state.SetItemsProcessed(kEntries);
}
BENCHMARK(BM_Load)->Iterations(1)->Unit(benchmark::kMillisecond);

void CheckLoop(benchmark::State& state, const SuppressionIndex& index, bool hits) {
  const std::vector<std::string>& queries = Queries(hits);
  size_t i = static_cast<size_t>(state.thread_index()) * 7919;
  size_t found = 0;
  for (auto _ : state) {
    std::optional<Match> m = index.Check("news.example", queries[i++ & (kQueries - 1)], kNow);
    found += m.has_value();
    benchmark::DoNotOptimize(m);
  }
  state.counters["hit_ratio"] =
      benchmark::Counter(static_cast<double>(found), benchmark::Counter::kAvgIterations);
}

void BM_CheckHit10M(benchmark::State& state) { CheckLoop(state, *Loaded(), true); }
void BM_CheckMiss10M(benchmark::State& state) { CheckLoop(state, *Loaded(), false); }
void BM_CheckMissEmpty(benchmark::State& state) {
  static const SuppressionIndex* empty = new SuppressionIndex;
  CheckLoop(state, *empty, false);
}
BENCHMARK(BM_CheckHit10M)->ThreadRange(1, 2);
BENCHMARK(BM_CheckMiss10M)->ThreadRange(1, 2);
BENCHMARK(BM_CheckMissEmpty)->ThreadRange(1, 2);

}  // namespace
}  // namespace tern::suppression
