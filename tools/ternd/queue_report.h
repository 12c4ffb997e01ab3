// QueueReport: ternctl's answers put together from every shard's part, as JSON for
// scripts (`--json`) or aligned text for people. Pure formatting, no shard access.
//
//   GET /queue     {"total":N,"bytes":B,"matched":M,"messages":[{"id":..,"state":..},..]}
//                  (format=jsonl: one message object per line); a recipient left that was
//                  tried carries "last_reply", its last attempt's reply or error
//   GET /message   {"id":..,"envelope":{..},"headers":"..","attempts":[..]}
//   POST /hold ... {"action":"hold","matched":M,"changed":C,"errors":[{"id":..,"error":..}]}
//   GET /stats     {"shards":[..],"destinations":[..],"rates":{..}}
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "core/json_writer.h"
#include "delivery/delivery_agent.h"
#include "queue/queue_operations.h"

namespace tern::tools::ternd {

// Throughput over the last minute (from the admin endpoint's history), per second.
struct Rates {
  double accepted = 0;
  double delivered = 0;
  double deferred = 0;
  double bounced = 0;
  int window_seconds = 0;  // 0: not enough history yet
};

// `total`/`total_bytes`: the whole queue; the listings: each shard's matches.
std::string QueueJson(const std::vector<queue::QueueListing>& shards, size_t limit, uint64_t total,
                      uint64_t total_bytes, absl::Time now);
// JSON Lines: one message object (as in QueueJson's "messages") per line, nothing else.
std::string QueueJsonLines(const std::vector<queue::QueueListing>& shards, size_t limit,
                           absl::Time now);
std::string QueueText(const std::vector<queue::QueueListing>& shards, size_t limit, uint64_t total,
                      uint64_t total_bytes, absl::Time now);

std::string DetailsJson(const queue::MessageDetails& details, absl::Time now);
std::string DetailsText(const queue::MessageDetails& details, absl::Time now);

// `ternctl classify`: "bad-mailbox (rule gmail-no-such-user)" or {"reply","class","reason"}.
std::string BounceVerdictText(const queue::BounceVerdict& verdict);
std::string BounceVerdictJson(const queue::BounceVerdict& verdict);

std::string ActionJson(queue::QueueAction action, const std::vector<queue::ActionOutcome>& shards);
std::string ActionText(queue::QueueAction action, const std::vector<queue::ActionOutcome>& shards);

std::string StatsJson(const std::vector<queue::ShardStats>& shards, const Rates& rates,
                      absl::Time now);
std::string StatsText(const std::vector<queue::ShardStats>& shards, const Rates& rates,
                      absl::Time now);

// "3d4h", "5m12s", "42s": a short age for listings.
std::string ShortDuration(absl::Duration d);
// "2026-12-02T16:04:21Z".
std::string FormatUtcSeconds(absl::Time t);
// One destination as a JSON object (for /stats and /status.json).
void AppendDestinationJson(int shard, const delivery::DestinationStats& d, absl::Time now,
                           core::JsonWriter* json);

}  // namespace tern::tools::ternd
