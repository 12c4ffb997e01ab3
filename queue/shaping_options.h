// ShapingOptions: the settings one block of the shaping policy (--shaping=FILE) may give,
// each optional: unset means "what a less specific block says". Blocks are merged from the
// least to the most specific (default < provider < site < domain < source < domain+source);
// MergeFrom() lays a more specific block over this one. BuiltInDefaults() is what applies
// with no policy file at all: a good citizen (a site that keeps failing at connection level
// is delayed, growing, with one probe connection), not an open tap.
//
//   ShapingOptions effective = ShapingOptions::BuiltInDefaults();
//   effective.MergeFrom(policy_default);
//   effective.MergeFrom(provider_block);   // ... most specific last
//   uint32_t cap = *effective.connection_limit;
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "queue/rate_spec.h"

namespace tern::queue {

struct ShapingOptions {
  // Open connections at once, all shards together (1..100000).
  std::optional<uint32_t> connection_limit;
  std::optional<RateSpec> max_message_rate;               // messages (transactions) started
  std::optional<RateSpec> max_connection_rate;            // connections opened
  std::optional<uint32_t> max_deliveries_per_connection;  // 1..1000000
  // As --retry_schedule ("1m,5m,15m,1h"), checked when the policy is read.
  std::optional<std::string> retry_schedule;
  std::optional<absl::Duration> max_queue_lifetime;
  // Dead-destination handling: after this many consecutive connection-level failures
  // (refused, timeout, 421/554 greeting, TLS failure) the site is delayed; the delay starts
  // at connection_failure_delay and doubles up to connection_failure_delay_max; while it
  // runs, queued messages wait without a connection each, then one probe tests recovery.
  std::optional<uint32_t> consecutive_connection_failures_before_delay;  // 1..1000
  std::optional<absl::Duration> connection_failure_delay;
  std::optional<absl::Duration> connection_failure_delay_max;

  // Every field `more_specific` sets replaces this one's.
  void MergeFrom(const ShapingOptions& more_specific);
  // Every field set: the values used when no block says otherwise.
  static ShapingOptions BuiltInDefaults();
  bool operator==(const ShapingOptions&) const = default;
};

}  // namespace tern::queue
