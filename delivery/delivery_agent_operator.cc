// DeliveryAgent's operator actions and per-destination stats (delivery/delivery_agent.h):
// what `ternctl flush`, `bounce` and `stats` ask of a shard's agent, on the shard's thread.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "core/log.h"
#include "core/utf8.h"
#include "delivery/delivery_agent.h"

namespace tern::delivery {
namespace {

std::string DestinationName(const Nexthop& nexthop) {
  if (!nexthop.mx_lookup) return absl::StrCat("[", nexthop.host, "]:", nexthop.port);
  if (nexthop.port != 25) return absl::StrCat(nexthop.host, ":", nexthop.port, " (MX)");
  return absl::StrCat(nexthop.host, " (MX)");
}

}  // namespace

void DeliveryAgent::DestinationStats::RollToMinute(int64_t now_minute) {
  if (now_minute == minute) return;
  results_last_minute = now_minute == minute + 1 ? results_this_minute : 0;
  results_this_minute = 0;
  minute = now_minute;
}

bool DeliveryAgent::DeliverNow(uint64_t queue_id) {
  if (!started_ || stopping_ || active_.contains(queue_id)) return false;
  const spool::QueueEntry* entry = spool_->index().Find(queue_id);
  if (entry == nullptr || entry->held() || entry->finished()) return false;
  ScheduleMessage(queue_id);
  UpdateGauges();
  return true;
}

absl::Status DeliveryAgent::Bounce(uint64_t queue_id, absl::string_view reason) {
  if (!started_ || stopping_) return absl::UnavailableError("delivery is stopping");
  if (active_.contains(queue_id)) {
    return absl::FailedPreconditionError("in delivery now (try again when the attempt ends)");
  }
  const spool::QueueEntry* entry = spool_->index().Find(queue_id);
  if (entry == nullptr) return absl::NotFoundError("not in the queue");
  std::vector<uint32_t> left;
  for (uint32_t i = 0; i < entry->recipient_count(); ++i) {
    if (!spool::IsFinalRecipientState(entry->recipient_state(i))) left.push_back(i);
  }
  if (left.empty()) return absl::NotFoundError("no recipient left");
  ForgetRetry(queue_id);
  DeliveryCounters::Add(counters_->recipients_bounced_by_operator, left.size());
  ActiveMessage& active = active_[queue_id];
  active.attempt = entry->attempts() + 1;
  active.jobs_left = 1;
  TERN_LOG(kInfo, "%016X: returned to its sender by the operator (%d recipients)", queue_id,
           left.size());
  FailJob(Job{.queue_id = queue_id, .recipients = std::move(left)},
          smtp::DeliveryOutcome::kPermFailed, 550, "5.0.0",
          reason.empty() ? absl::string_view("message returned by the operator") : reason, "");
  UpdateGauges();
  return absl::OkStatus();
}

void DeliveryAgent::ReleaseDueHolds(absl::Time now) {
  // A bound per pass: the rest are released one interval later.
  static constexpr size_t kReleasesPerPassMax = 10000;
  const int64_t now_us = absl::ToUnixMicros(now);
  std::vector<uint64_t> due;
  for (const auto& [until_us, queue_id] : spool_->index().timed_holds()) {
    if (until_us > now_us || due.size() == kReleasesPerPassMax) break;
    if (!releasing_.contains(queue_id)) due.push_back(queue_id);
  }
  // Marked first: SetHeld may answer at once (a message gone) and change the index.
  for (const uint64_t queue_id : due) releasing_.insert(queue_id);
  for (const uint64_t queue_id : due) {
    spool_->SetHeld(queue_id, false, [this, queue_id](absl::Status status) {
      releasing_.erase(queue_id);
      if (!status.ok()) {
        TERN_LOG(kError, "%016X: hold ended but not released: %s", queue_id, status.ToString());
        return;
      }
      TERN_LOG(kInfo, "%016X: hold ended, released", queue_id);
      Enqueue(queue_id);
    });
  }
}

void DeliveryAgent::ForgetRetry(uint64_t queue_id) {
  if (auto it = retry_due_.find(queue_id); it != retry_due_.end()) {
    retries_.erase({it->second, queue_id});
    retry_due_.erase(it);
    UpdateGauges();
  }
}

void DeliveryAgent::Reconfigure(std::shared_ptr<const RouteTable> routes,
                                std::shared_ptr<const DkimSigner> dkim) {
  CHECK(routes != nullptr);
  routes_ = std::move(routes);
  dkim_ = std::move(dkim);
}

void DeliveryAgent::NoteDestinationResult(const Lane& lane, smtp::DeliveryOutcome outcome,
                                          absl::string_view reply) {
  auto it = destination_stats_.find(lane.key);
  if (it == destination_stats_.end()) {
    if (destination_stats_.size() >= kDestinationStatsMax) return;
    it = destination_stats_.emplace(lane.key, DestinationStats{}).first;
    it->second.name = DestinationName(lane.nexthop);
  }
  DestinationStats& stats = it->second;
  stats.RollToMinute(absl::ToUnixSeconds(loop_->now()) / 60);
  ++stats.results_this_minute;
  switch (outcome) {
    case smtp::DeliveryOutcome::kDelivered:
      ++stats.delivered;
      return;
    case smtp::DeliveryOutcome::kPermFailed:
      ++stats.bounced;
      break;
    case smtp::DeliveryOutcome::kTempFailed:
      ++stats.deferred;
      break;
  }
  stats.last_error = std::string(core::Utf8Prefix(reply, 300));
  stats.last_error_at = loop_->now();
}

std::vector<DeliveryAgent::DestinationStats> DeliveryAgent::Destinations() const {
  std::vector<DestinationStats> out;
  out.reserve(destination_stats_.size());
  const int64_t minute = absl::ToUnixSeconds(loop_->now()) / 60;
  for (const auto& [key, stats] : destination_stats_) {
    DestinationStats row = stats;
    row.RollToMinute(minute);  // minutes without a result may have passed since
    if (auto lane = lanes_.find(key); lane != lanes_.end()) {
      row.pending_jobs = lane->second->pending.size();
      row.connections = lane->second->connections.size();
      row.connecting = lane->second->attempts;
    }
    out.push_back(std::move(row));
  }
  for (const auto& [key, lane] : lanes_) {
    if (destination_stats_.contains(key)) continue;
    out.push_back({.name = DestinationName(lane->nexthop),
                   .pending_jobs = lane->pending.size(),
                   .connections = lane->connections.size(),
                   .connecting = lane->attempts});
  }
  std::sort(out.begin(), out.end(), [](const DestinationStats& a, const DestinationStats& b) {
    return a.pending_jobs + a.deferred > b.pending_jobs + b.deferred ||
           (a.pending_jobs + a.deferred == b.pending_jobs + b.deferred && a.name < b.name);
  });
  return out;
}

}  // namespace tern::delivery
