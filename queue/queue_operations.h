// Queue operations: what ternctl asks of one shard (list, show, hold, release, flush,
// delete, bounce, stats). Each runs on the shard's thread, given a ShardView, and answers
// through `reply` exactly once, possibly later (when the spool records it wrote are
// durable). Every change is a spool record, so it survives a restart:
//   hold / release   HOLD / RELEASE records (a held message is never scheduled; one being
//                    delivered finishes its attempt); a hold may have an end, kept in its
//                    record, when the delivery agent releases it by itself
//   delete           a DELETED record per recipient left: no delivery, no bounce, logged
//   bounce           the recipients left fail with 5.0.0 and a DSN, as any bounce (the
//                    operator's reason, if given, is the DSN's diagnostic)
//   flush            deferred and new messages are scheduled now (no record: the retry
//                    time is recomputed by the attempt's result)
// delete and bounce skip a message in delivery (reported: try again when it ends).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "delivery/delivery_agent.h"
#include "delivery/delivery_counters.h"
#include "delivery/delivery_log.h"
#include "queue/queue_filter.h"
#include "queue/queue_shape.h"
#include "spool/attempt_history.h"
#include "spool/shard_spool.h"

namespace tern::queue {

// What the operations may touch of a shard (all owned by its thread).
struct ShardView {
  int shard_id = 0;
  spool::ShardSpool* spool = nullptr;
  delivery::DeliveryAgent* agent = nullptr;  // null: --deliver=false
  delivery::DeliveryLog* log = nullptr;      // may be null
  delivery::DeliveryCounters* counters = nullptr;
  uint64_t smtp_connections = 0;
};

struct QueueRow {
  struct Recipient {
    std::string address;
    spool::RecipientState state = spool::RecipientState::kPending;
    // A recipient left: its last attempt's reply or error ("HOST said: 450 4.2.0 ..."), from
    // the attempt history; "" when never tried (or its notes were dropped).
    std::string last_reply;
    // Its bounce class ("policy-related"), when last_reply is set.
    std::string last_class;
  };
  uint64_t id = 0;
  int shard = 0;
  int64_t received_unix_us = 0;
  uint64_t size = 0;
  MessageState state = MessageState::kQueued;
  uint32_t attempts = 0;
  int64_t next_attempt_unix_us = 0;
  int64_t held_until_unix_us = 0;  // held with an end (0: none)
  std::string sender;
  std::vector<Recipient> recipients;
};

struct QueueListing {
  uint64_t matched = 0;  // every match, also beyond the limit
  uint64_t matched_bytes = 0;
  std::vector<QueueRow> rows;  // the first `limit` matches, in queue id order
};

struct MessageDetails {
  bool found = false;
  QueueRow row;
  std::string client_address;
  std::string helo;
  std::string envid;
  std::vector<std::string> orcpts;  // per recipient, "" when none
  std::string headers;              // the header section as stored
  bool headers_truncated = false;
  std::string read_error;  // the message could not be read from the spool
  std::vector<spool::AttemptNote> attempts;
  // Per attempt: the bounce class of a failure ("bad-mailbox"), "" for a delivery.
  std::vector<std::string> attempt_classes;
};

// `ternctl classify`: the bounce class the shard's rules in force give a reply line
// ("550 5.1.1 text": its code and enhanced code are read from the line), and what decided.
struct BounceVerdict {
  std::string reply;
  std::string bounce_class;  // "bad-mailbox"
  std::string reason;        // "rule gmail-no-such-user", "enhanced code 5.1.1", ...
};
BounceVerdict ClassifyReply(const ShardView& shard, absl::string_view reply);

// `show --body`: the stored message (header and body), dot-stuffing undone, at most
// kShowMessageBytesMax bytes of it.
struct StoredMessage {
  bool found = false;
  std::string text;
  uint64_t stored_bytes = 0;  // the whole message, before any truncation
  bool truncated = false;
  std::string read_error;
};
inline constexpr size_t kShowMessageBytesMax = 64 << 20;

enum class QueueAction { kHold, kRelease, kFlush, kDelete, kBounce };
const char* QueueActionName(QueueAction action);

// What an action takes beyond its filter.
struct ActionOptions {
  std::string bounce_reason;       // bounce: one printable line; "" for the default text
  int64_t hold_until_unix_us = 0;  // hold: released automatically then (0: until released)
};

struct ActionOutcome {
  uint64_t matched = 0;
  uint64_t changed = 0;  // held, released, scheduled, deleted or bounced
  std::vector<std::pair<uint64_t, std::string>> errors;  // at most kErrorsKept
  static constexpr size_t kErrorsKept = 100;
};

struct ShardStats {
  int shard = 0;
  uint64_t messages = 0;
  uint64_t bytes = 0;
  uint64_t queued = 0;
  uint64_t deferred = 0;
  uint64_t held = 0;
  uint64_t active = 0;
  uint64_t recipients_left = 0;
  uint64_t smtp_connections = 0;
  uint64_t outbound_connections = 0;
  std::vector<delivery::DestinationStats> destinations;
};

// Headers shown by `show` at most.
inline constexpr size_t kShowHeaderBytesMax = 64 << 10;

void ListQueue(const ShardView& shard, const QueueFilter& filter, size_t limit,
               absl::AnyInvocable<void(QueueListing)> reply);
void ShowMessage(const ShardView& shard, uint64_t queue_id,
                 absl::AnyInvocable<void(MessageDetails)> reply);
void ReadStoredMessage(const ShardView& shard, uint64_t queue_id, size_t bytes_max,
                       absl::AnyInvocable<void(StoredMessage)> reply);
void ApplyQueueAction(const ShardView& shard, QueueAction action, const QueueFilter& filter,
                      const ActionOptions& options, absl::AnyInvocable<void(ActionOutcome)> reply);
// qshape: the messages `filter` selects, by destination domain and age, at most
// QueueShape::kRowsPerShardMax rows.
void ShapeQueue(const ShardView& shard, const QueueFilter& filter,
                absl::AnyInvocable<void(QueueShape)> reply);
void CollectShardStats(const ShardView& shard, absl::AnyInvocable<void(ShardStats)> reply);

}  // namespace tern::queue
