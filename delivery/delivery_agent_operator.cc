// DeliveryAgent's operator actions and destination rows (delivery/delivery_agent.h): what
// `ternctl flush`, `bounce` and `stats` ask of a shard's agent, on the shard's thread.
#include <algorithm>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "core/log.h"
#include "core/utf8.h"
#include "delivery/delivery_agent.h"

namespace tern::delivery {

bool DeliveryAgent::InDelivery(uint64_t queue_id) const {
  auto active = active_.find(queue_id);
  return active != active_.end() && active->second.jobs_left > active->second.jobs_waiting;
}

bool DeliveryAgent::Withdraw(uint64_t queue_id) {
  scheduled_.Remove(queue_id);
  auto active = active_.find(queue_id);
  if (active == active_.end()) return true;
  if (active->second.jobs_left > active->second.jobs_waiting) return false;
  // Its jobs stay in their lanes' queues, stale: dropped when reached (TakePending).
  active_.erase(active);
  UpdateGauges();
  return true;
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
  if (!Withdraw(queue_id)) {
    return absl::FailedPreconditionError("in delivery now (try again when the attempt ends)");
  }
  const spool::QueueEntry* entry = spool_->index().Find(queue_id);
  if (entry == nullptr) return absl::NotFoundError("not in the queue");
  std::vector<uint32_t> left;
  for (uint32_t i = 0; i < entry->recipient_count(); ++i) {
    if (!spool::IsFinalRecipientState(entry->recipient_state(i))) left.push_back(i);
  }
  if (left.empty()) return absl::NotFoundError("no recipient left");
  DeliveryCounters::Add(counters_->recipients_bounced_by_operator, left.size());
  ActiveMessage& active = active_[queue_id];
  active.attempt = entry->attempts() + 1;
  active.generation = next_generation_++;
  active.jobs_left = 1;
  TERN_LOG(kInfo, "%016X: returned to its sender by the operator (%d recipients)", queue_id,
           left.size());
  recorder_.Fail(DeliveryJob{.queue_id = queue_id,
                             .recipients = std::move(left),
                             .attempt = active.attempt,
                             .generation = active.generation},
                 net::smtp::DeliveryOutcome::kPermFailed, 550, "5.0.0",
                 reason.empty() ? absl::string_view("message returned by the operator") : reason,
                 "");
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
  Withdraw(queue_id);
  UpdateGauges();
}

void DeliveryAgent::Reconfigure(std::shared_ptr<const RouteTable> routes,
                                std::shared_ptr<const DkimSigner> dkim,
                                std::shared_ptr<const BounceClassifier> classifier) {
  CHECK(routes != nullptr);
  routes_ = std::move(routes);
  reads_.set_dkim(std::move(dkim));
  if (classifier != nullptr) recorder_.set_classifier(std::move(classifier));
}

namespace {

// Whether a lane sending from `was` may go on as one sending from `now` (of another
// configuration): the same name, address and EHLO name.
bool SameSource(const EgressSource& was, const EgressSource& now) {
  return was.name == now.name && was.address_length == now.address_length &&
         std::memcmp(&was.address, &now.address, was.address_length) == 0 &&
         was.ehlo_name == now.ehlo_name;
}

}  // namespace

void DeliveryAgent::ReconfigureEgress(std::shared_ptr<const EgressConfig> egress) {
  CHECK(egress != nullptr);
  egress_ = std::move(egress);
  selector_ = std::make_unique<SourceSelector>(egress_);
  ++egress_reloads_;
  std::vector<Lane*> retired;
  for (auto& [key, lane] : lanes_) {
    if (lane->egress == nullptr) continue;  // the kernel's address: nothing to keep alive
    CHECK(lane->egress_config != nullptr);
    const EgressSource* now = egress_->FindSource(lane->source);
    if (now != nullptr && SameSource(*lane->egress, *now)) {
      lane->egress = now;
      lane->egress_config = egress_;
    } else {
      retired.push_back(lane.get());
    }
  }
  for (Lane* lane : retired) {
    auto it = lanes_.find(lane->key);
    CHECK(it != lanes_.end() && it->second.get() == lane);
    std::unique_ptr<Lane> owned = std::move(it->second);
    lanes_.erase(it);
    lane->key = absl::StrCat(lane->key, "~", egress_reloads_);
    const bool inserted = lanes_.emplace(lane->key, std::move(owned)).second;
    CHECK(inserted);
  }
  if (!retired.empty()) {
    TERN_LOG(kInfo,
             "delivery: %d lane(s) retired: the jobs and connections they hold keep their old "
             "egress source",
             retired.size());
  }
}

std::vector<DestinationStats> DeliveryAgent::Destinations() const {
  const absl::Time now = loop_->now();
  // What a lane holds now, and its shaping.
  auto add_lane = [now](const Lane& lane, DestinationStats* row) {
    row->pending_jobs = lane.pending.size();
    row->connections = lane.connections.size();
    row->connecting = lane.attempts;
    row->source = lane.source;
    row->site = lane.site_scope;
    const std::optional<uint64_t> tokens = lane.throttle.MessageTokens(now, 0);
    row->tokens = tokens.has_value() ? static_cast<int64_t>(*tokens) : -1;
    row->suspended = now < lane.suspended_until;
  };
  std::vector<std::string> keys;
  std::vector<DestinationStats> out = stats_.Rows(now, &keys);
  for (size_t i = 0; i < out.size(); ++i) {
    if (auto lane = lanes_.find(keys[i]); lane != lanes_.end()) add_lane(*lane->second, &out[i]);
  }
  for (const auto& [key, lane] : lanes_) {
    if (stats_.Contains(key)) continue;
    DestinationStats row{.name = lane->DestinationName()};
    add_lane(*lane, &row);
    out.push_back(std::move(row));
  }
  std::sort(out.begin(), out.end(), [](const DestinationStats& a, const DestinationStats& b) {
    return a.pending_jobs + a.deferred > b.pending_jobs + b.deferred ||
           (a.pending_jobs + a.deferred == b.pending_jobs + b.deferred && a.name < b.name);
  });
  return out;
}

}  // namespace tern::delivery
