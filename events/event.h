// Event: one delivery event for the operator's webhook (received, delivered, deferred,
// bounced, expired, suppressed, feedback), with its two encodings: a compact binary one for
// the on-disk backlog (events/event_journal.h) and the JSON object the webhook receives.
//
//   events::Event event;
//   event.type = events::EventType::kDelivered;
//   event.event_id = events::NewEventId();
//   event.queue_id = id; event.recipient = rcpt; event.reply = "250 2.0.0 ok";
//   event.event_time = absl::Now();
//   std::string bytes;
//   events::EncodeEvent(event, &bytes);                // journal record payload
//   ASSIGN_OR_RETURN(events::Event back, events::DecodeEvent(bytes));
//   std::string body = events::EventBatchJson({&event, 1});  // "[{...}]": a webhook POST
//
// event_id is 16 random bytes from OpenSSL's CSPRNG, written as 32 hex digits: unique across
// shards, restarts and nodes without any state to persist or coordinate (a boot id + shard +
// sequence needs a boot id that is itself unique and a sequence that survives nothing; a
// restored VM or a copied spool would repeat it). Receivers deduplicate by it: delivery is at
// least once.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/json_writer.h"

namespace tern::events {

enum class EventType : uint8_t {
  kReceived = 1,
  kDelivered = 2,
  kDeferred = 3,
  kBounced = 4,
  kExpired = 5,
  kSuppressed = 6,
  kFeedback = 7,
};
inline constexpr uint8_t kEventTypeMax = 7;

// "received", "delivered", ... (the JSON "type").
absl::string_view EventTypeName(EventType type);

// The largest encoded event (binary): a record announcing more is corrupt, and Append refuses
// an event that would encode larger (metadata is the only field of unbounded size).
inline constexpr size_t kEventBytesMax = size_t{256} << 10;

struct Event {
  EventType type = EventType::kReceived;
  std::string event_id;   // NewEventId(): 32 lowercase hex digits
  uint64_t queue_id = 0;  // written as 16 hex digits
  std::string message_id;
  std::string sender;
  std::string recipient;
  std::string bounce_class;  // the bounce class name, or empty
  std::string reply;         // the remote reply, or empty
  std::string destination;   // the MX host, or empty
  std::string egress_source;
  std::string egress_pool;
  uint32_t attempts = 0;
  absl::Time event_time = absl::UnixEpoch();
  absl::Time received_time = absl::UnixEpoch();  // when the message was received
  // A JSON object's text given at injection, sent as is under "metadata" (empty: none).
  // Text that is not a JSON object is sent as a JSON string instead, so the body stays JSON.
  std::string metadata;

  bool operator==(const Event& other) const = default;
};

// 16 random bytes (RAND_bytes) as 32 lowercase hex digits.
std::string NewEventId();

// The binary encoding (a journal record's payload), appended to `out`. Layout: version u8,
// type u8, attempts u32, queue id u64, event and received time as i64 Unix microseconds, then
// each string field as u32 length + bytes, in declaration order. Little-endian.
void EncodeEvent(const Event& event, std::string* out);
// Decodes exactly `bytes` (remote-free but possibly corrupt input: every length is checked).
absl::StatusOr<Event> DecodeEvent(absl::string_view bytes);

// The webhook's JSON object of one event, written into `json` (a value position).
void WriteEventJson(const Event& event, core::JsonWriter* json);
// A batch: a JSON array of event objects, the body of one POST.
std::string EventBatchJson(std::span<const Event> events);

}  // namespace tern::events
