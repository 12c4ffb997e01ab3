// QueueFilter: which queued messages a ternctl command (queue, hold, release, flush,
// delete, bounce) applies to, from the admin request's query string:
//
//   id=HEX         this message (repeatable); looked up directly, no scan
//   domain=D       a recipient still to deliver is at D (".D": D or a subdomain)
//   sender=S       the sender contains S (case-insensitive; "<>" matches the null sender)
//   recipient=R    a recipient still to deliver contains R (case-insensitive)
//   min_age=SEC    received at least SEC seconds ago;  max_age=SEC: at most
//   state=STATE    queued (never tried), deferred (waiting for a retry), held, active
//                  (being delivered now)
//
//   ASSIGN_OR_RETURN(QueueFilter filter, QueueFilter::FromQuery(net::ParseQuery(q)));
//   if (filter.Matches(id, entry, now, StateOf(entry, agent->InDelivery(id)))) ...
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "net/http_query.h"
#include "spool/queue_index.h"

namespace tern::queue {

enum class MessageState : uint8_t { kQueued, kDeferred, kHeld, kActive };

const char* MessageStateName(MessageState state);
MessageState StateOf(const spool::QueueEntry& entry, bool in_delivery);
// "16 hex digits" (case-insensitive), as listings print them.
std::optional<uint64_t> ParseQueueId(absl::string_view text);
std::string FormatQueueId(uint64_t id);

struct QueueFilter {
  std::vector<uint64_t> ids;
  std::string domain;  // lower case
  std::string sender;  // lower case
  std::string recipient;
  std::optional<int64_t> min_age_seconds;
  std::optional<int64_t> max_age_seconds;
  std::optional<MessageState> state;

  // InvalidArgument names the bad parameter.
  static absl::StatusOr<QueueFilter> FromQuery(const net::QueryParams& params);
  // No condition at all: every message.
  bool everything() const;
  // The conditions other than `ids`.
  bool Matches(const spool::QueueEntry& entry, absl::Time now, MessageState state) const;
};

}  // namespace tern::queue
