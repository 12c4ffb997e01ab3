// Helpers for writing a metric family with one series per shard (label shard="N"), used by
// the parts of GET /metrics (tools/ternd/metrics_page.h).
//
//   AppendPerShard(&text, shards, "tern_spool_fsyncs_total", core::MetricType::kCounter,
//                  "fdatasync calls completed.",
//                  [](const Shard& s) { return Load(s.spool()->counters().fdatasyncs); });
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/metrics_text.h"
#include "tools/ternd/shard.h"

namespace tern::ternd {

inline uint64_t Load(const std::atomic<uint64_t>& counter) {
  return counter.load(std::memory_order_relaxed);
}

// The value of the shard label.
inline std::string ShardLabel(const Shard& shard) { return absl::StrCat(shard.id()); }

// One family, one sample per shard: value_of(shard) (a number).
template <typename ValueOf>
void AppendPerShard(core::MetricsText* text, const std::vector<std::unique_ptr<Shard>>& shards,
                    absl::string_view name, core::MetricType type, absl::string_view help,
                    ValueOf value_of) {
  text->Family(name, type, help);
  for (const auto& shard : shards) {
    text->Sample({{"shard", ShardLabel(*shard)}}, value_of(*shard));
  }
}

}  // namespace tern::ternd
