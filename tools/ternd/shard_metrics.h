// Helpers for writing metric families with one series per shard (label shard="N"), used by
// the parts of GET /metrics (tools/ternd/metrics_page.h). Every series they write exists
// from the first scrape: a shard's counters start at 0, and a result label's values are
// listed in the tables, not discovered.
//
//   AppendPerShard(&text, shards, "tern_spool_fdatasyncs_total", core::MetricType::kCounter,
//                  "fdatasync calls completed.",
//                  [](const Shard& s) { return Load(s.spool()->counters().fdatasyncs); });
//
//   // A table of counters; consecutive rows with one name are one family, told apart by
//   // their label (here result="ok" and result="failed").
//   constexpr CounterField<spool::SpoolCounters> kFields[] = {
//       {"tern_spool_commits_total", kCounter, "Group commits.", &S::commits, "result", "ok"},
//       {"tern_spool_commits_total", kCounter, "", &S::write_errors, "result", "failed"}};
//   AppendFields(&text, shards, kFields, [](const Shard& s) { return &s.spool()->counters(); });
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/metrics_text.h"
#include "tools/ternd/shard.h"

namespace tern::tools::ternd {

using Shards = std::vector<std::unique_ptr<Shard>>;

inline uint64_t Load(const std::atomic<uint64_t>& counter) {
  return counter.load(std::memory_order_relaxed);
}

// The value of the shard label.
inline std::string ShardLabel(const Shard& shard) { return absl::StrCat(shard.id()); }

// One family, one sample per shard: value_of(shard) (a number).
template <typename ValueOf>
void AppendPerShard(core::MetricsText* text, const Shards& shards, absl::string_view name,
                    core::MetricType type, absl::string_view help, ValueOf value_of) {
  text->Family(name, type, help);
  for (const auto& shard : shards) {
    text->Sample({{"shard", ShardLabel(*shard)}}, value_of(*shard));
  }
}

// One counter or gauge of a counters struct, optionally one value of a label of its family.
template <typename Counters>
struct CounterField {
  const char* name;
  core::MetricType type;
  const char* help;  // of the family: only the first row of a family needs it
  const std::atomic<uint64_t> Counters::*member;
  const char* label = nullptr;  // e.g. "result"
  const char* label_value = nullptr;
};

// Writes a table of fields for every shard. counters_of(shard) may return nullptr (the part
// is not running on that shard): its series are then 0.
template <typename Counters, typename CountersOf, size_t N>
void AppendFields(core::MetricsText* text, const Shards& shards,
                  const CounterField<Counters> (&fields)[N], CountersOf counters_of) {
  for (size_t i = 0; i < N; ++i) {
    const CounterField<Counters>& f = fields[i];
    if (i == 0 || absl::string_view(f.name) != fields[i - 1].name) {
      text->Family(f.name, f.type, f.help);
    }
    for (const auto& shard : shards) {
      const Counters* c = counters_of(*shard);
      const uint64_t value = c == nullptr ? 0 : Load(c->*f.member);
      if (f.label == nullptr) {
        text->Sample({{"shard", ShardLabel(*shard)}}, value);
      } else {
        text->Sample({{"shard", ShardLabel(*shard)}, {f.label, f.label_value}}, value);
      }
    }
  }
}

// One histogram series per shard: `bounds` (the +Inf bucket excluded), the count of bucket
// i from count_of(shard, i), the exact sum, formatted, from sum_of(shard).
template <typename CountOf, typename SumOf>
void AppendHistogram(core::MetricsText* text, const Shards& shards, absl::string_view name,
                     absl::string_view help, const std::vector<std::string>& bounds,
                     CountOf count_of, SumOf sum_of) {
  text->Family(name, core::MetricType::kHistogram, help);
  std::vector<uint64_t> counts(bounds.size() + 1);
  for (const auto& shard : shards) {
    for (size_t i = 0; i < counts.size(); ++i) counts[i] = count_of(*shard, i);
    text->Histogram({{"shard", ShardLabel(*shard)}}, bounds, counts, sum_of(*shard));
  }
}

}  // namespace tern::tools::ternd
