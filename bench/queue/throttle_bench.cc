// ThrottlePath::TryTakeAll (queue/throttle_path.h) on a path of 3 shared cells, as every
// message pays it, on 1 and 2 threads (2 threads share the cells, as two shards sending to
// one provider), against the floor of one std::atomic fetch_add on a shared counter. The
// rates are set so that nothing is refused: this is the cost of the grant path (3 loads and
// 3 compare-and-swaps), the case that matters for throughput. Reported as ns per op (the
// time column; with 2 threads, Google Benchmark reports per thread).
#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "queue/throttle_path.h"
#include "queue/throttle_registry.h"

namespace tern::queue {
namespace {

RateSpec Unreached() {
  RateSpec r;
  r.count = RateSpec::kCountMax;  // 1 µs interval, a burst far beyond any run
  r.period = absl::Seconds(1);
  r.burst = RateSpec::kCountMax;
  return r;
}

ThrottleRegistry& Registry() {
  static ThrottleRegistry* registry = new ThrottleRegistry;
  return *registry;
}

void BM_TryTakeAllThreeCells(benchmark::State& state) {
  ThrottlePath path;
  for (const char* scope : {"default", "provider:google", "domain:example.com"}) {
    ThrottlePath::Limits limits;
    limits.message_rate = Unreached();
    path.Add(Registry().Get(scope), limits);
  }
  // One clock read per op would measure the clock; shards read it once per loop iteration.
  absl::Time now = absl::Now();
  uint64_t refused = 0;
  for (auto _ : state) {
    if (path.TryTakeAll(now) != absl::ZeroDuration()) ++refused;
    now += absl::Nanoseconds(1);
  }
  state.counters["refused"] = static_cast<double>(refused);
}
BENCHMARK(BM_TryTakeAllThreeCells)->Threads(1)->Threads(2)->UseRealTime();

std::atomic<uint64_t> shared_counter{0};

void BM_AtomicFetchAddBaseline(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(shared_counter.fetch_add(1, std::memory_order_relaxed));
  }
}
BENCHMARK(BM_AtomicFetchAddBaseline)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace tern::queue
