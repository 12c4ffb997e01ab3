// StatusSummary: what the status page shows, put together from every shard's part: one row
// per destination summed over the shards (each shard's own row kept for the on-demand
// split), and the recent deferrals and bounces grouped by destination and reply pattern
// (delivery/reply_pattern.h), so that one failure repeated for many recipients is one row
// with a count.
//
//   std::vector<DestinationTotal> rows = SumDestinations(shards, 20);
//   std::vector<FailureGroup> failures = GroupFailures(shards, 30);
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "delivery/delivery_agent.h"

namespace tern::tools::ternd {

// What one shard contributes to /status.json.
struct ShardStatus {
  int shard = 0;
  std::vector<delivery::DestinationStats> destinations;
  std::vector<delivery::RecentFailure> recent;
};

struct DestinationTotal {
  delivery::DestinationStats sum;  // last_error: the latest over the shards
  std::vector<std::pair<int, const delivery::DestinationStats*>> shards;
};

// The `rows_max` busiest destinations (pending, connections and results), busiest first.
// The pointers point into `shards`.
std::vector<DestinationTotal> SumDestinations(const std::vector<ShardStatus>& shards,
                                              size_t rows_max);

struct FailureGroup {
  std::string destination;
  std::string pattern;  // the reply's pattern
  uint64_t count = 0;
  absl::Time last_at;  // the latest failure of the group, whose details follow
  std::string last_result;
  std::string last_reply;
  std::string last_recipient;
  uint64_t last_queue_id = 0;
};

// Groups of identical failures, the most recent first, at most `groups_max`.
std::vector<FailureGroup> GroupFailures(const std::vector<ShardStatus>& shards, size_t groups_max);

}  // namespace tern::tools::ternd
