// Implementation of delivery/result_recorder.h.
#include "delivery/result_recorder.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/check.h"
#include "core/log.h"
#include "core/utf8.h"

namespace tern::delivery {

struct ResultRecorder::Completion {
  DeliveryJob job;
  std::vector<RecipientOutcome> outcomes;
  std::string destination;  // "mx.example.com[192.0.2.1:25]", a host, or empty
  std::optional<spool::LoadedMessage> loaded;
  absl::Time now;
  uint32_t attempt = 1;
  std::string sender;
  absl::Time received;
  // Per outcome.
  std::vector<spool::RecipientState> states;
  std::vector<int64_t> next_attempt_us;
  std::vector<std::string> addresses;
  std::vector<bool> wants_dsn;
  // The bounce class of each failure (deferred, bounced, expired); unused when delivered.
  std::vector<BounceClass> classes;
  // Hard bounces to put on the suppression list before the results are recorded.
  std::vector<suppression::Entry> to_suppress;
  bool dsn_needed = false;
  uint64_t dsn_queue_id = 0;  // the DSN spooled for these results (0: none)
};

namespace {

// RFC 3461 §4.1: no DSN with NOTIFY=NEVER; a failure DSN unless NOTIFY was given without
// FAILURE.
bool NotifyOnFailure(uint8_t notify) {
  if (notify & spool::kNotifyNever) return false;
  return notify == 0 || (notify & spool::kNotifyFailure) != 0;
}

}  // namespace

ResultRecorder::ResultRecorder(const ResultRecorderDeps& deps)
    : loop_(deps.loop),
      spool_(deps.spool),
      log_(deps.log),
      config_(*deps.config),
      counters_(deps.counters),
      stats_(deps.stats),
      listener_(deps.listener),
      events_(deps.events != nullptr && deps.events->enabled() ? deps.events : nullptr),
      bounces_(deps.spool, deps.config->reporting_mta),
      classifier_(deps.config->bounce_classifier != nullptr ? deps.config->bounce_classifier
                                                            : BounceClassifier::Builtin()) {
  CHECK(loop_ != nullptr && spool_ != nullptr && counters_ != nullptr);
  CHECK(stats_ != nullptr && listener_ != nullptr);
  CHECK(classifier_ != nullptr);
}

void ResultRecorder::set_classifier(std::shared_ptr<const BounceClassifier> classifier) {
  CHECK(classifier != nullptr);
  classifier_ = std::move(classifier);
}

void ResultRecorder::Fail(DeliveryJob job, net::smtp::DeliveryOutcome outcome, int code,
                          absl::string_view enhanced, absl::string_view reason,
                          absl::string_view destination) {
  std::vector<RecipientOutcome> outcomes;
  outcomes.reserve(job.recipients.size());
  const std::string reply = absl::StrCat(code, " ", enhanced, " ", reason);
  for (uint32_t recipient : job.recipients) {
    outcomes.push_back({.recipient = recipient,
                        .outcome = outcome,
                        .code = code,
                        .enhanced = std::string(enhanced),
                        .reply = reply});
  }
  Complete(std::move(job), std::move(outcomes), std::string(destination), std::nullopt);
}

void ResultRecorder::Complete(DeliveryJob job, std::vector<RecipientOutcome> outcomes,
                              std::string destination, std::optional<spool::LoadedMessage> loaded,
                              bool next_hop_has_dsn) {
  const spool::QueueEntry* entry = spool_->index().Find(job.queue_id);
  if (entry == nullptr || outcomes.empty()) {
    listener_->OnJobRecorded(job.queue_id);  // deleted meanwhile: nothing to record
    return;
  }
  DCHECK(job.attempt >= 1);
  ++in_flight_;
  auto c = std::make_unique<Completion>();
  c->now = loop_->now();
  c->attempt = job.attempt;
  c->sender = std::string(entry->sender());
  c->received = absl::FromUnixMicros(entry->received_unix_us());
  const queue::RetrySchedule& retry = job.retry != nullptr ? *job.retry : config_.retry;
  const bool expired = retry.Expired(c->received, c->now);
  // A delayed site pushes the next attempt to the delay's end, never past the expiry.
  const absl::Time not_before =
      std::min(job.retry_not_before, c->received + retry.max_queue_lifetime());
  const int64_t next_us =
      absl::ToUnixMicros(std::max(retry.NextAttempt(c->received, c->attempt, c->now), not_before));
  for (const RecipientOutcome& o : outcomes) {
    spool::RecipientState state = spool::RecipientState::kDeferred;
    if (o.outcome == net::smtp::DeliveryOutcome::kDelivered) {
      state = spool::RecipientState::kDelivered;
    } else if (o.outcome == net::smtp::DeliveryOutcome::kPermFailed) {
      // A suppressed recipient dropped (--suppressed_action=drop) ends as if deleted.
      state = o.suppressed && config_.suppressed_drop ? spool::RecipientState::kDeleted
                                                      : spool::RecipientState::kBounced;
    } else if (expired) {
      state = spool::RecipientState::kExpired;
    }
    const bool failed =
        state == spool::RecipientState::kBounced || state == spool::RecipientState::kExpired;
    const uint8_t notify = entry->recipient_notify(o.recipient);
    // A success report when asked for one and the next hop will not send it.
    const bool relayed = state == spool::RecipientState::kDelivered && !next_hop_has_dsn &&
                         (notify & spool::kNotifySuccess) != 0;
    const bool dsn = !c->sender.empty() && ((failed && NotifyOnFailure(notify)) || relayed);
    c->states.push_back(state);
    // An expiry is classed as such, whatever its last temporary reply said.
    c->classes.push_back(state == spool::RecipientState::kExpired ? BounceClass::kMessageExpired
                         : state == spool::RecipientState::kDelivered
                             ? BounceClass::kOther
                             : classifier_->Classify(o.code, o.enhanced, o.reply));
    if (state == spool::RecipientState::kBounced && !o.suppressed &&
        IsHardBounceClass(c->classes.back())) {
      NoteHardBounce(entry->recipient(o.recipient), o.reply, destination, c.get());
    }
    c->next_attempt_us.push_back(state == spool::RecipientState::kDeferred ? next_us : 0);
    c->addresses.emplace_back(entry->recipient(o.recipient));
    c->wants_dsn.push_back(dsn);
    c->dsn_needed |= dsn;
  }
  c->job = std::move(job);
  c->outcomes = std::move(outcomes);
  c->destination = std::move(destination);
  c->loaded = std::move(loaded);
  if (c->dsn_needed && !c->loaded.has_value()) {
    const uint64_t id = c->job.queue_id;
    spool_->ReadMessage(id,
                        [this, c = std::move(c)](absl::StatusOr<spool::LoadedMessage> m) mutable {
                          if (m.ok()) {
                            c->loaded = *std::move(m);
                          } else {
                            TERN_LOG(kError, "bounce of %016X without its content: %s",
                                     c->job.queue_id, m.status().ToString());
                          }
                          Continue(std::move(c));
                        });
    return;
  }
  Continue(std::move(c));
}

void ResultRecorder::Continue(std::unique_ptr<Completion> c) {
  if (!c->dsn_needed) {
    FeedSuppression(std::move(c));
    return;
  }
  // The recipients' ORCPT values, from the stored envelope.
  std::vector<std::string> orcpts(c->outcomes.size());
  BouncedMessage message{.queue_id = c->job.queue_id, .sender = c->sender, .arrival = c->received};
  if (c->loaded.has_value()) {
    const spool::MessageRecordView& view = c->loaded->view();
    message.envid = view.envid();
    message.dsn_ret = view.dsn_ret();
    message.stored_message = c->loaded->body();
    std::vector<std::string> all;
    spool::RecipientView r;
    for (auto it = view.recipients(); it.Next(&r);) all.emplace_back(r.orcpt);
    for (size_t i = 0; i < c->outcomes.size(); ++i) {
      if (c->outcomes[i].recipient < all.size()) orcpts[i] = all[c->outcomes[i].recipient];
    }
  }
  std::vector<DsnRecipient> recipients;
  for (size_t i = 0; i < c->outcomes.size(); ++i) {
    if (!c->wants_dsn[i]) continue;
    const RecipientOutcome& o = c->outcomes[i];
    // An expired recipient failed for good, whatever its last temporary reply said
    // (RFC 3463 X.4.7: delivery time expired).
    const bool expired = c->states[i] == spool::RecipientState::kExpired;
    const bool delivered = c->states[i] == spool::RecipientState::kDelivered;
    recipients.push_back(
        {.final_recipient = c->addresses[i],
         .original_recipient = orcpts[i],
         .action = delivered ? DsnAction::kRelayed : DsnAction::kFailed,
         .status = expired ? absl::string_view("5.4.7") : o.enhanced,
         .remote_mta = c->destination,
         .diagnostic = o.reply,
         .bounce_class = delivered ? absl::string_view() : BounceClassName(c->classes[i]),
         .last_attempt = c->now});
  }
  auto holder = std::make_shared<std::unique_ptr<Completion>>(std::move(c));
  auto on_spooled = [this, holder](absl::StatusOr<uint64_t> dsn_id) {
    std::unique_ptr<Completion> done = std::move(*holder);
    if (dsn_id.ok()) {
      done->dsn_queue_id = *dsn_id;
      DeliveryCounters::Add(counters_->dsns_queued);
      if (log_ != nullptr) {
        const std::string client = absl::StrFormat("bounce of %016X", done->job.queue_id);
        log_->Append({.event = "received",
                      .queue_id = *dsn_id,
                      .recipient = "",
                      .recipients = 1,
                      .client = client,
                      .time = done->now});
      }
      listener_->OnDsnSpooled(*dsn_id);
    } else {
      // Without its bounce a failure is not recorded: the recipients are tried again (a
      // success report that cannot be spooled is given up: the mail itself went out).
      TERN_LOG(kError, "bounce of %016X could not be spooled: %s; deferring it", done->job.queue_id,
               dsn_id.status().ToString());
      const int64_t retry_us = absl::ToUnixMicros(
          done->now + (done->job.retry != nullptr ? *done->job.retry : config_.retry)
                          .DelayAfter(done->attempt));
      for (size_t i = 0; i < done->outcomes.size(); ++i) {
        if (!done->wants_dsn[i] || done->states[i] == spool::RecipientState::kDelivered) continue;
        done->states[i] = spool::RecipientState::kDeferred;
        done->next_attempt_us[i] = retry_us;
      }
    }
    FeedSuppression(std::move(done));
  };
  Completion* raw = holder->get();
  absl::Status spooled = bounces_.Spool(message, recipients, raw->now, on_spooled);
  if (!spooled.ok()) on_spooled(spooled);
}

void ResultRecorder::NoteHardBounce(absl::string_view address, absl::string_view reply,
                                    absl::string_view destination, Completion* c) {
  if (config_.suppression == nullptr || config_.suppress_after <= 0) return;
  absl::StatusOr<suppression::Target> target = suppression::NormalizeTarget(address);
  if (!target.ok() || target->is_domain) return;  // nothing the list can hold
  if (config_.suppress_after > 1 &&
      (config_.bounce_tally == nullptr ||
       !config_.bounce_tally->CountReaches(target->text,
                                           static_cast<uint32_t>(config_.suppress_after)))) {
    return;
  }
  std::string event =
      destination.empty() ? std::string(reply) : absl::StrCat(reply, " (from ", destination, ")");
  event = std::string(core::Utf8Prefix(event, suppression::kEventBytesMax));
  for (char& ch : event) {
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = ' ';
  }
  c->to_suppress.push_back({.target = std::move(target->text),
                            .reason = suppression::Reason::kHardBounce,
                            .event = std::move(event),
                            .created = absl::ToUnixSeconds(c->now)});
}

void ResultRecorder::FeedSuppression(std::unique_ptr<Completion> c) {
  if (c->to_suppress.empty()) {
    PublishEvents(std::move(c));
    return;
  }
  // Durable on the list before the BOUNCED records: a crash in between bounces the
  // recipient again at the next attempt, and the list gets it then.
  std::vector<suppression::Entry> entries = std::move(c->to_suppress);
  const size_t count = entries.size();
  auto holder = std::make_shared<std::unique_ptr<Completion>>(std::move(c));
  std::shared_ptr<core::Mailbox> mailbox = loop_->mailbox();
  absl::Status queued = config_.suppression->writer().AddAll(
      std::move(entries), [this, holder, mailbox, count](absl::Status durable) {
        mailbox->Post([this, holder, durable, count] {
          if (durable.ok()) {
            DeliveryCounters::Add(counters_->suppressions_added, count);
          } else {
            DeliveryCounters::Add(counters_->suppression_feed_failures, count);
            TERN_LOG(kError, "suppression: %d hard bounces of %016X not added: %s", count,
                     (*holder)->job.queue_id, durable.ToString());
          }
          PublishEvents(std::move(*holder));
        });
      });
  if (!queued.ok()) {
    DeliveryCounters::Add(counters_->suppression_feed_failures, count);
    TERN_LOG(kError, "suppression: %d hard bounces of %016X not added: %s", count,
             (*holder)->job.queue_id, queued.ToString());
    PublishEvents(std::move(*holder));
  }
}

void ResultRecorder::PublishEvents(std::unique_ptr<Completion> c) {
  if (events_ == nullptr) {
    Record(std::move(c));
    return;
  }
  std::vector<events::Event> batch = Events(*c);
  auto holder = std::make_shared<std::unique_ptr<Completion>>(std::move(c));
  events_->Publish(std::move(batch), [this, holder] { Record(std::move(*holder)); });
}

std::vector<events::Event> ResultRecorder::Events(const Completion& c) const {
  std::vector<events::Event> batch;
  batch.reserve(c.outcomes.size() + 1);
  const LaneLabels* labels = c.job.labels.get();
  for (size_t i = 0; i < c.outcomes.size(); ++i) {
    const RecipientOutcome& o = c.outcomes[i];
    events::EventType type = events::EventType::kDeferred;
    if (o.suppressed) {
      type = events::EventType::kSuppressed;
    } else if (c.states[i] == spool::RecipientState::kDelivered) {
      type = events::EventType::kDelivered;
    } else if (c.states[i] == spool::RecipientState::kBounced) {
      type = events::EventType::kBounced;
    } else if (c.states[i] == spool::RecipientState::kExpired) {
      type = events::EventType::kExpired;
    }
    events::Event& event = batch.emplace_back();
    event.type = type;
    event.event_id = events::NewEventId();
    event.queue_id = c.job.queue_id;
    event.message_id = c.job.message_id;
    event.sender = c.sender;
    event.recipient = c.addresses[i];
    if (type != events::EventType::kDelivered && type != events::EventType::kSuppressed) {
      event.bounce_class = std::string(BounceClassName(c.classes[i]));
    }
    event.reply = o.reply;
    event.destination = c.destination;
    if (labels != nullptr) event.egress_source = labels->source;
    event.egress_pool = c.job.pool;
    event.attempts = c.attempt;
    event.event_time = c.now;
    event.received_time = c.received;
  }
  if (c.dsn_queue_id != 0) {
    // The DSN is a message of its own: received now, to the original sender.
    events::Event& event = batch.emplace_back();
    event.type = events::EventType::kReceived;
    event.event_id = events::NewEventId();
    event.queue_id = c.dsn_queue_id;
    event.recipient = c.sender;
    event.event_time = c.now;
    event.received_time = c.now;
  }
  return batch;
}

void ResultRecorder::Record(std::unique_ptr<Completion> c) {
  std::vector<spool::RecipientResult> results;
  results.reserve(c->outcomes.size());
  for (size_t i = 0; i < c->outcomes.size(); ++i) {
    const RecipientOutcome& o = c->outcomes[i];
    results.push_back({.recipient = o.recipient,
                       .state = c->states[i],
                       .attempts = c->attempt,
                       .next_attempt_unix_us = c->next_attempt_us[i],
                       .reply_code = static_cast<uint16_t>(o.code),
                       .enhanced_code = o.enhanced,
                       .reply_text = o.reply,
                       .destination_host = c->destination});
  }
  const uint64_t id = c->job.queue_id;
  spool_->RecordRecipientResults(id, results, [this, c = std::move(c)](absl::Status status) {
    DCHECK(in_flight_ > 0);
    --in_flight_;
    ++jobs_recorded_;
    if (!status.ok()) {
      // Not recorded: the recipients keep their state and are tried again.
      DeliveryCounters::Add(counters_->results_record_failures);
      TERN_LOG(kError, "results of %016X not recorded: %s", c->job.queue_id, status.ToString());
    } else {
      Log(*c);
    }
    listener_->OnJobRecorded(c->job.queue_id);
  });
}

void ResultRecorder::Log(const Completion& c) {
  const LaneLabels* labels = c.job.labels.get();
  for (size_t i = 0; i < c.outcomes.size(); ++i) {
    const bool suppressed = c.outcomes[i].suppressed;
    if (suppressed) DeliveryCounters::Add(counters_->recipients_suppressed);
    switch (suppressed ? spool::RecipientState::kPending : c.states[i]) {
      case spool::RecipientState::kDelivered: {
        DeliveryCounters::Add(counters_->recipients_delivered);
        const double delay_s = absl::ToDoubleSeconds(c.now - c.received);
        DeliveryCounters::Add(counters_->delivery_delay_histogram[DeliveryDelayBucket(delay_s)]);
        DeliveryCounters::Add(counters_->delivery_delay_sum_ms,
                              static_cast<uint64_t>(std::max(0.0, delay_s * 1000)));
        break;
      }
      case spool::RecipientState::kDeferred:
        DeliveryCounters::Add(counters_->FailuresOf(FailedResult::kDeferred, c.classes[i]));
        break;
      case spool::RecipientState::kBounced:
        DeliveryCounters::Add(counters_->FailuresOf(FailedResult::kBounced, c.classes[i]));
        break;
      case spool::RecipientState::kExpired:
        DeliveryCounters::Add(counters_->FailuresOf(FailedResult::kExpired, c.classes[i]));
        break;
      case spool::RecipientState::kDeleted:
      case spool::RecipientState::kPending:
        break;
    }
    const RecipientOutcome& o = c.outcomes[i];
    const bool failed = !suppressed && (c.states[i] == spool::RecipientState::kDeferred ||
                                        c.states[i] == spool::RecipientState::kBounced ||
                                        c.states[i] == spool::RecipientState::kExpired);
    if (failed) {
      stats_->NoteFailure({.at = c.now,
                           .queue_id = c.job.queue_id,
                           .recipient = c.addresses[i],
                           .result = spool::RecipientStateName(c.states[i]),
                           .reply = o.reply,
                           .destination = c.destination});
    }
    if (log_ == nullptr) continue;
    log_->Append({.event = suppressed ? absl::string_view("suppressed")
                                      : spool::RecipientStateName(c.states[i]),
                  .queue_id = c.job.queue_id,
                  .message_id = c.job.message_id,
                  .sender = c.sender,
                  .recipient = c.addresses[i],
                  .destination = c.destination,
                  .reply = o.reply,
                  .bounce_class = failed ? BounceClassName(c.classes[i]) : absl::string_view(),
                  .source = labels != nullptr ? absl::string_view(labels->source) : "",
                  .pool = c.job.pool,
                  .site = labels != nullptr ? absl::string_view(labels->site) : "",
                  .provider = labels != nullptr ? absl::string_view(labels->provider) : "",
                  .throttled = c.job.throttled,
                  .attempts = static_cast<int>(c.attempt),
                  .delay = c.now - c.received,
                  .time = c.now});
  }
}

}  // namespace tern::delivery
