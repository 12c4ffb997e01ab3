// Implementation of queue/shaping_options.h.
#include "queue/shaping_options.h"

namespace tern::queue {
namespace {

template <typename T>
void Overlay(std::optional<T>& into, const std::optional<T>& from) {
  if (from.has_value()) into = from;
}

}  // namespace

void ShapingOptions::MergeFrom(const ShapingOptions& more_specific) {
  Overlay(connection_limit, more_specific.connection_limit);
  Overlay(max_message_rate, more_specific.max_message_rate);
  Overlay(max_connection_rate, more_specific.max_connection_rate);
  Overlay(max_deliveries_per_connection, more_specific.max_deliveries_per_connection);
  Overlay(retry_schedule, more_specific.retry_schedule);
  Overlay(max_queue_lifetime, more_specific.max_queue_lifetime);
  Overlay(consecutive_connection_failures_before_delay,
          more_specific.consecutive_connection_failures_before_delay);
  Overlay(connection_failure_delay, more_specific.connection_failure_delay);
  Overlay(connection_failure_delay_max, more_specific.connection_failure_delay_max);
}

ShapingOptions ShapingOptions::BuiltInDefaults() {
  ShapingOptions o;
  // No rate limits by default: a relay without a policy sends as fast as its connection
  // limits allow (the flags --max_connections_per_destination etc. still apply).
  o.connection_limit = 20;
  o.max_deliveries_per_connection = 1000;
  o.consecutive_connection_failures_before_delay = 3;
  o.connection_failure_delay = absl::Minutes(1);
  o.connection_failure_delay_max = absl::Hours(1);
  return o;
}

}  // namespace tern::queue
