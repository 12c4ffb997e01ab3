// WaitingJob: a DeliveryJob as it waits in its lane's pending queue, in 72 bytes and no
// allocation of its own (with up to 4 recipients): a million throttled messages wait this
// way. It keeps what the job needs again when it is taken (message, recipients, attempt,
// pool, time waited for throttles, whether it was re-sent); the lane's labels and retry
// schedule are given again when it leaves the lane, its Message-ID when its message is read.
//
//   lane->pending.push_back(WaitingJob::From(std::move(job), pools.Intern(job.pool)));
//   DeliveryJob job = std::move(lane->pending.front()).Take();
#pragma once

#include <cstdint>
#include <limits>
#include <string>

#include "absl/container/inlined_vector.h"
#include "delivery/delivery_job.h"

namespace tern::delivery {

struct WaitingJob {
  static constexpr int64_t kNotThrottled = std::numeric_limits<int64_t>::min();

  uint64_t queue_id = 0;
  uint64_t generation = 0;
  absl::InlinedVector<uint32_t, 4> recipients;
  const std::string* pool = nullptr;  // interned (it outlives the job); null: none
  int64_t throttled_since_us = kNotThrottled;
  int64_t throttled_us = 0;
  uint32_t attempt = 1;
  bool stale_retry_done = false;
  bool pipeline_retry_done = false;

  // `pool` is job.pool interned (null when empty). Drops what the lane gives again.
  static WaitingJob From(DeliveryJob job, const std::string* pool);
  DeliveryJob Take() &&;
};

}  // namespace tern::delivery
