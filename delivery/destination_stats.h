// DestinationStatsBook: what one shard's delivery has seen per destination since start, for
// `ternctl stats`, the status page and /metrics: results per destination (delivered,
// deferred, bounced, the last error, results in the last whole minute) and the last
// failures. A destination is a lane's next hop: the recipient domain's MX, a route's or the
// smarthost's host. Bounded: at most kDestinationsMax destinations are counted (later ones
// are not) and kRecentFailuresKept failures kept.
//
//   DestinationStatsBook book;
//   book.NoteResult("mx:example.com:25", "example.com (MX)", outcome, reply, now);
//   book.NoteFailure({.at = now, .queue_id = id, .result = "deferred", ...});
//   for (const DestinationStats& row : book.Rows(now)) ...
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "net/smtp/client_session.h"

namespace tern::delivery {

struct DestinationStats {
  std::string name;  // "example.com (MX)", "[127.0.0.1]:2600"
  uint64_t delivered = 0;
  uint64_t deferred = 0;
  uint64_t bounced = 0;
  std::string last_error;  // the last failure's reply or reason
  absl::Time last_error_at = absl::InfinitePast();
  // Recipient results (any) in the last whole minute, and the minute being counted.
  uint64_t results_last_minute = 0;
  uint64_t results_this_minute = 0;
  int64_t minute = 0;  // unix minutes
  // Now (from the lane, 0 when idle): jobs waiting, connections open or being opened.
  size_t pending_jobs = 0;
  size_t connections = 0;
  size_t connecting = 0;
  // Shaping (from the lane): its egress source and site scope, time its jobs waited for
  // throttles since start, message tokens available now (-1: no rate limit), suspended.
  std::string source;
  std::string site;
  uint64_t throttled_ms = 0;
  int64_t tokens = -1;
  bool suspended = false;

  // Moves the per-minute count on to `now_minute`: the minute counted so far becomes the
  // last whole one if it was the one before, else no result came in the last minute.
  void RollToMinute(int64_t now_minute);
};

// One deferral, bounce or expiry (for the status page).
struct RecentFailure {
  absl::Time at;
  uint64_t queue_id = 0;
  std::string recipient;
  std::string result;  // "deferred", "bounced", "expired"
  std::string reply;
  std::string destination;
};

class DestinationStatsBook {
 public:
  static constexpr size_t kDestinationsMax = 10000;
  static constexpr size_t kRecentFailuresKept = 50;
  // Bytes of a reply kept as a destination's last error or a recent failure's reply.
  static constexpr size_t kReplyBytesKept = 300;

  // One recipient's result at the destination `key` (named `name` when first seen).
  void NoteResult(absl::string_view key, absl::string_view name, net::smtp::DeliveryOutcome outcome,
                  absl::string_view reply, absl::Time now);
  // A job of destination `key` waited `waited` for its throttles.
  void NoteThrottled(absl::string_view key, absl::string_view name, absl::Duration waited);
  // A deferral, bounce or expiry; the oldest is dropped beyond kRecentFailuresKept.
  void NoteFailure(RecentFailure failure);

  // Every destination counted, with the per-minute counts rolled to `now`; `key` of each in
  // `keys` (same order) so the caller can add what its lanes hold now.
  std::vector<DestinationStats> Rows(absl::Time now, std::vector<std::string>* keys) const;
  bool Contains(absl::string_view key) const { return by_key_.contains(key); }
  size_t size() const { return by_key_.size(); }
  const std::deque<RecentFailure>& recent_failures() const { return recent_failures_; }

 private:
  // The destination `key`'s entry, made (named `name`) when first seen; null beyond
  // kDestinationsMax.
  DestinationStats* Find(absl::string_view key, absl::string_view name);

  absl::flat_hash_map<std::string, DestinationStats> by_key_;
  std::deque<RecentFailure> recent_failures_;
};

}  // namespace tern::delivery
