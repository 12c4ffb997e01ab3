// ResultRecorder: what a job's outcome means for each recipient, made durable. DELIVERED,
// DEFERRED with the next attempt's time, BOUNCED, or EXPIRED once the queue lifetime is
// over; each failure's bounce class (delivery/bounce_classifier.h); the DSN to the sender (RFC
// 3464, spooled from <> before the records that cause it, so a crash never loses a bounce); the
// spool's state records in one group commit per job; then the counters, the destination stats'
// recent failures and the delivery log. With a webhook, each recipient's event (delivered,
// deferred, bounced, expired, suppressed; and the DSN's received) is made durable in the event
// journal before the spool's records, so a crash repeats an event but never loses one. The
// listener hears when a DSN was spooled (to schedule it)
// and when the job's records are written (or failed to be: the recipients keep their state and are
// tried again).
//
//   recorder.Complete(std::move(job), outcomes, "mx.example.com[192.0.2.1:25]", loaded);
//   recorder.Fail(std::move(job), kTempFailed, 451, "4.4.1", "connection refused", host);
//
// Single-threaded: everything runs on the shard's loop.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/loop.h"
#include "delivery/bounce_classifier.h"
#include "delivery/bounce_spooler.h"
#include "delivery/delivery_config.h"
#include "delivery/delivery_counters.h"
#include "delivery/delivery_job.h"
#include "delivery/delivery_log.h"
#include "delivery/destination_stats.h"
#include "events/event_publisher.h"
#include "spool/loaded_message.h"
#include "spool/shard_spool.h"

namespace tern::delivery {

class ResultListener {
 public:
  virtual ~ResultListener() = default;
  // A DSN (bounce or success report) is durable in the spool under `dsn_queue_id`.
  virtual void OnDsnSpooled(uint64_t dsn_queue_id) = 0;
  // The job's results are recorded (or could not be); it no longer counts as in flight.
  virtual void OnJobRecorded(uint64_t queue_id) = 0;
};

struct ResultRecorderDeps {
  core::Loop* loop = nullptr;
  spool::ShardSpool* spool = nullptr;
  DeliveryLog* log = nullptr;  // may be null
  const DeliveryConfig* config = nullptr;
  DeliveryCounters* counters = nullptr;
  DestinationStatsBook* stats = nullptr;
  ResultListener* listener = nullptr;
  events::EventPublisher* events = nullptr;  // may be null (no webhook)
};

class ResultRecorder {
 public:
  explicit ResultRecorder(const ResultRecorderDeps& deps);
  ResultRecorder(const ResultRecorder&) = delete;
  ResultRecorder& operator=(const ResultRecorder&) = delete;

  // Every recipient of `job` gets the same outcome ("CODE ENHANCED REASON" as reply).
  void Fail(DeliveryJob job, net::smtp::DeliveryOutcome outcome, int code,
            absl::string_view enhanced, absl::string_view reason, absl::string_view destination);
  // `next_hop_has_dsn`: the server that took the message offered DSN, so NOTIFY=SUCCESS is
  // its business; otherwise this relay reports "relayed" to the sender (RFC 3461 §6.2.2).
  void Complete(DeliveryJob job, std::vector<RecipientOutcome> outcomes, std::string destination,
                std::optional<spool::LoadedMessage> loaded, bool next_hop_has_dsn = true);

  // SIGHUP: failures recorded from now on are classified by `classifier` (never null).
  void set_classifier(std::shared_ptr<const BounceClassifier> classifier);
  const BounceClassifier& classifier() const { return *classifier_; }

  // Jobs whose results are being spooled.
  size_t in_flight() const { return in_flight_; }
  uint64_t jobs_recorded() const { return jobs_recorded_; }

 private:
  struct Completion;
  void Continue(std::unique_ptr<Completion> completion);
  // A hard bounce of `address`: onto completion->to_suppress once --suppress_after says so.
  void NoteHardBounce(absl::string_view address, absl::string_view reply,
                      absl::string_view destination, Completion* completion);
  // Puts completion->to_suppress on the suppression list, then PublishEvents().
  void FeedSuppression(std::unique_ptr<Completion> completion);
  // Makes the completion's events durable (with a webhook), then Record()s.
  void PublishEvents(std::unique_ptr<Completion> completion);
  std::vector<events::Event> Events(const Completion& completion) const;
  void Record(std::unique_ptr<Completion> completion);
  void Log(const Completion& completion);

  core::Loop* const loop_;
  spool::ShardSpool* const spool_;
  DeliveryLog* const log_;
  const DeliveryConfig& config_;
  DeliveryCounters* const counters_;
  DestinationStatsBook* const stats_;
  ResultListener* const listener_;
  events::EventPublisher* const events_;  // null: no webhook
  BounceSpooler bounces_;
  std::shared_ptr<const BounceClassifier> classifier_;
  size_t in_flight_ = 0;
  uint64_t jobs_recorded_ = 0;
};

}  // namespace tern::delivery
