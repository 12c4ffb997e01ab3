// Implementation of tools/ternd/status_summary.h.
#include "tools/ternd/status_summary.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "delivery/reply_pattern.h"

namespace tern::tools::ternd {
namespace {

uint64_t Busy(const delivery::DestinationStats& d) {
  return d.pending_jobs + d.connections + d.connecting + d.deferred + d.delivered + d.bounced;
}

void AddInto(const delivery::DestinationStats& d, delivery::DestinationStats* sum) {
  sum->delivered += d.delivered;
  sum->deferred += d.deferred;
  sum->bounced += d.bounced;
  sum->results_last_minute += d.results_last_minute;
  sum->results_this_minute += d.results_this_minute;
  sum->pending_jobs += d.pending_jobs;
  sum->connections += d.connections;
  sum->connecting += d.connecting;
  if (!d.last_error.empty() && d.last_error_at >= sum->last_error_at) {
    sum->last_error = d.last_error;
    sum->last_error_at = d.last_error_at;
  }
}

}  // namespace

std::vector<DestinationTotal> SumDestinations(const std::vector<ShardStatus>& shards,
                                              size_t rows_max) {
  std::vector<DestinationTotal> rows;
  absl::flat_hash_map<std::string, size_t> row_of;
  for (const ShardStatus& shard : shards) {
    for (const auto& d : shard.destinations) {
      auto [it, added] = row_of.try_emplace(d.name, rows.size());
      if (added) {
        rows.emplace_back();
        rows.back().sum.name = d.name;
      }
      DestinationTotal& row = rows[it->second];
      AddInto(d, &row.sum);
      row.shards.emplace_back(shard.shard, &d);
    }
  }
  std::sort(rows.begin(), rows.end(), [](const DestinationTotal& a, const DestinationTotal& b) {
    if (Busy(a.sum) != Busy(b.sum)) return Busy(a.sum) > Busy(b.sum);
    return a.sum.name < b.sum.name;
  });
  if (rows.size() > rows_max) rows.resize(rows_max);
  return rows;
}

std::vector<FailureGroup> GroupFailures(const std::vector<ShardStatus>& shards, size_t groups_max) {
  std::vector<FailureGroup> groups;
  absl::flat_hash_map<std::pair<std::string, std::string>, size_t> group_of;
  for (const ShardStatus& shard : shards) {
    for (const auto& f : shard.recent) {
      std::string pattern = delivery::ReplyPattern(f.reply);
      auto [it, added] =
          group_of.try_emplace(std::make_pair(f.destination, pattern), groups.size());
      if (added) {
        groups.push_back(
            {.destination = f.destination, .pattern = std::move(pattern), .last_at = f.at});
      }
      FailureGroup& g = groups[it->second];
      ++g.count;
      if (g.count == 1 || f.at >= g.last_at) {
        g.last_at = f.at;
        g.last_result = f.result;
        g.last_reply = f.reply;
        g.last_recipient = f.recipient;
        g.last_queue_id = f.queue_id;
      }
    }
  }
  std::sort(groups.begin(), groups.end(), [](const FailureGroup& a, const FailureGroup& b) {
    if (a.last_at != b.last_at) return a.last_at > b.last_at;
    return a.count > b.count;
  });
  if (groups.size() > groups_max) groups.resize(groups_max);
  return groups;
}

}  // namespace tern::tools::ternd
