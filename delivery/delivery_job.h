// DeliveryJob: the unit of delivery work. A message being delivered is split into jobs, one
// per next hop (at most net::smtp::kTransactionRecipientsMax recipients each); a job is sent in
// one SMTP transaction, and its outcome is one RecipientOutcome per recipient.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "net/smtp/client_session.h"
#include "queue/retry_schedule.h"

namespace tern::delivery {

// What the delivery log says about the lane a job went through.
struct LaneLabels {
  std::string source;    // egress source name
  std::string site;      // site scope
  std::string provider;  // provider block
};

struct DeliveryJob {
  uint64_t queue_id = 0;
  std::vector<uint32_t> recipients;  // indexes into the message's recipients, increasing
  uint32_t attempt = 1;              // this attempt's number (1 = the first)
  // Which scheduling of the message this job belongs to: a job left waiting in a lane after
  // its message was withdrawn (held, deleted, bounced) is stale and dropped when reached.
  uint64_t generation = 0;
  // A deferral's next attempt is not before this (its site is delayed until then).
  absl::Time retry_not_before = absl::InfinitePast();
  // The lane's names for the delivery log (shared by its jobs; null: none known).
  std::shared_ptr<const LaneLabels> labels;
  std::string pool;  // the egress pool its source was picked from ("" none)
  // Its lane's retry schedule and lifetime from the shaping policy (null: the flags').
  std::shared_ptr<const queue::RetrySchedule> retry;
  absl::Time throttled_since = absl::InfinitePast();  // waiting for a throttle since
  absl::Duration throttled = absl::ZeroDuration();    // waited for throttles in all
  bool stale_retry_done = false;  // already re-sent once after a reused connection died
  // Already sent again once after its MAIL, pipelined behind another transaction, was
  // refused for it (net::smtp::TransactionResult::retry_at_once).
  bool pipeline_retry_done = false;
  std::string message_id;  // known once the message was read
};

// A job's outcome for one recipient.
struct RecipientOutcome {
  uint32_t recipient = 0;
  net::smtp::DeliveryOutcome outcome = net::smtp::DeliveryOutcome::kTempFailed;
  int code = 0;
  std::string enhanced;  // "4.4.1"
  std::string reply;     // the remote reply or our reason
  // On the suppression list (delivery/suppressed_recipients.h): never sent; BOUNCED, or
  // DELETED when suppressed recipients are dropped; logged as "suppressed".
  bool suppressed = false;
};

}  // namespace tern::delivery
