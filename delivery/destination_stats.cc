// Implementation of delivery/destination_stats.h.
#include "delivery/destination_stats.h"

#include <utility>

#include "core/check.h"
#include "core/utf8.h"

namespace tern::delivery {

void DestinationStats::RollToMinute(int64_t now_minute) {
  if (now_minute == minute) return;
  results_last_minute = now_minute == minute + 1 ? results_this_minute : 0;
  results_this_minute = 0;
  minute = now_minute;
}

void DestinationStatsBook::NoteResult(absl::string_view key, absl::string_view name,
                                      net::smtp::DeliveryOutcome outcome, absl::string_view reply,
                                      absl::Time now) {
  DestinationStats* found = Find(key, name);
  if (found == nullptr) return;
  DestinationStats& stats = *found;
  stats.RollToMinute(absl::ToUnixSeconds(now) / 60);
  ++stats.results_this_minute;
  switch (outcome) {
    case net::smtp::DeliveryOutcome::kDelivered:
      ++stats.delivered;
      return;
    case net::smtp::DeliveryOutcome::kPermFailed:
      ++stats.bounced;
      break;
    case net::smtp::DeliveryOutcome::kTempFailed:
      ++stats.deferred;
      break;
  }
  stats.last_error = std::string(core::Utf8Prefix(reply, kReplyBytesKept));
  stats.last_error_at = now;
}

void DestinationStatsBook::NoteThrottled(absl::string_view key, absl::string_view name,
                                         absl::Duration waited) {
  if (DestinationStats* stats = Find(key, name)) {
    stats->throttled_ms += static_cast<uint64_t>(absl::ToInt64Milliseconds(waited));
  }
}

DestinationStats* DestinationStatsBook::Find(absl::string_view key, absl::string_view name) {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) {
    if (by_key_.size() >= kDestinationsMax) return nullptr;
    it = by_key_.emplace(std::string(key), DestinationStats{}).first;
    it->second.name = std::string(name);
  }
  return &it->second;
}

void DestinationStatsBook::NoteFailure(RecentFailure failure) {
  if (recent_failures_.size() == kRecentFailuresKept) recent_failures_.pop_front();
  failure.reply = std::string(core::Utf8Prefix(failure.reply, kReplyBytesKept));
  recent_failures_.push_back(std::move(failure));
  DCHECK(recent_failures_.size() <= kRecentFailuresKept);
}

std::vector<DestinationStats> DestinationStatsBook::Rows(absl::Time now,
                                                         std::vector<std::string>* keys) const {
  std::vector<DestinationStats> out;
  out.reserve(by_key_.size());
  keys->clear();
  keys->reserve(by_key_.size());
  const int64_t minute = absl::ToUnixSeconds(now) / 60;
  for (const auto& [key, stats] : by_key_) {
    DestinationStats row = stats;
    row.RollToMinute(minute);  // minutes without a result may have passed since
    out.push_back(std::move(row));
    keys->push_back(key);
  }
  return out;
}

}  // namespace tern::delivery
