// Implementation of delivery/waiting_job.h.
#include "delivery/waiting_job.h"

#include <utility>

#include "core/check.h"

namespace tern::delivery {

static_assert(sizeof(WaitingJob) <= 72, "a million of them wait in lanes");

WaitingJob WaitingJob::From(DeliveryJob job, const std::string* pool) {
  DCHECK(job.retry_not_before == absl::InfinitePast());  // set only as a job fails
  DCHECK((pool == nullptr) == job.pool.empty());
  WaitingJob waiting;
  waiting.queue_id = job.queue_id;
  waiting.generation = job.generation;
  waiting.recipients.assign(job.recipients.begin(), job.recipients.end());
  waiting.pool = pool;
  if (job.throttled_since != absl::InfinitePast()) {
    waiting.throttled_since_us = absl::ToUnixMicros(job.throttled_since);
  }
  waiting.throttled_us = absl::ToInt64Microseconds(job.throttled);
  waiting.attempt = job.attempt;
  waiting.stale_retry_done = job.stale_retry_done;
  waiting.pipeline_retry_done = job.pipeline_retry_done;
  return waiting;
}

DeliveryJob WaitingJob::Take() && {
  DeliveryJob job;
  job.queue_id = queue_id;
  job.generation = generation;
  job.recipients.assign(recipients.begin(), recipients.end());
  if (pool != nullptr) job.pool = *pool;
  if (throttled_since_us != kNotThrottled) {
    job.throttled_since = absl::FromUnixMicros(throttled_since_us);
  }
  job.throttled = absl::Microseconds(throttled_us);
  job.attempt = attempt;
  job.stale_retry_done = stale_retry_done;
  job.pipeline_retry_done = pipeline_retry_done;
  return job;
}

}  // namespace tern::delivery
