// The binary and JSON encodings of a delivery event (events/event.h).
#include "events/event.h"

#include <openssl/rand.h>

#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "core/check.h"
#include "nlohmann/json.hpp"

namespace tern::events {
namespace {

constexpr uint8_t kEncodingVersion = 1;
constexpr size_t kEventIdBytes = 16;

template <typename T>
void PutFixed(T value, std::string* out) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));  // little-endian hosts only (x86-64, aarch64)
  out->append(bytes, sizeof(T));
}

void PutString(absl::string_view text, std::string* out) {
  CHECK_LE(text.size(), size_t{UINT32_MAX});  // Append refuses what is above kEventBytesMax
  PutFixed<uint32_t>(static_cast<uint32_t>(text.size()), out);
  out->append(text.data(), text.size());
}

// Reads fields off the front of a bounded view; any overrun is corruption.
class FieldReader {
 public:
  explicit FieldReader(absl::string_view bytes) : rest_(bytes) {}
  template <typename T>
  bool Fixed(T* value) {
    if (rest_.size() < sizeof(T)) return false;
    std::memcpy(value, rest_.data(), sizeof(T));
    rest_.remove_prefix(sizeof(T));
    return true;
  }
  bool String(std::string* text) {
    uint32_t length = 0;
    if (!Fixed(&length) || length > rest_.size()) return false;
    text->assign(rest_.data(), length);
    rest_.remove_prefix(length);
    return true;
  }
  bool empty() const { return rest_.empty(); }

 private:
  absl::string_view rest_;
};

constexpr int kStringFields = 10;

// The string fields in their encoded order (E: Event or const Event).
template <typename E>
auto* StringField(E* event, int index) {
  decltype(&event->sender) fields[kStringFields] = {
      &event->event_id,     &event->message_id, &event->sender,      &event->recipient,
      &event->bounce_class, &event->reply,      &event->destination, &event->egress_source,
      &event->egress_pool,  &event->metadata};
  return index < kStringFields ? fields[index] : nullptr;
}

std::string RfcTime(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
}

bool IsJsonObject(absl::string_view text) {
  if (text.empty() || text.front() != '{') return false;
  return nlohmann::json::accept(text.begin(), text.end());
}

}  // namespace

absl::string_view EventTypeName(EventType type) {
  switch (type) {
    case EventType::kReceived:
      return "received";
    case EventType::kDelivered:
      return "delivered";
    case EventType::kDeferred:
      return "deferred";
    case EventType::kBounced:
      return "bounced";
    case EventType::kExpired:
      return "expired";
    case EventType::kSuppressed:
      return "suppressed";
    case EventType::kFeedback:
      return "feedback";
  }
  return "unknown";
}

std::string NewEventId() {
  unsigned char bytes[kEventIdBytes];
  // RAND_bytes fails only when the CSPRNG cannot be seeded, which start-up would have met.
  CHECK_EQ(RAND_bytes(bytes, sizeof(bytes)), 1);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(bytes), sizeof(bytes)));
}

void EncodeEvent(const Event& event, std::string* out) {
  PutFixed<uint8_t>(kEncodingVersion, out);
  PutFixed<uint8_t>(static_cast<uint8_t>(event.type), out);
  PutFixed<uint32_t>(event.attempts, out);
  PutFixed<uint64_t>(event.queue_id, out);
  PutFixed<int64_t>(absl::ToUnixMicros(event.event_time), out);
  PutFixed<int64_t>(absl::ToUnixMicros(event.received_time), out);
  for (int i = 0; i < kStringFields; ++i) PutString(*StringField(&event, i), out);
}

absl::StatusOr<Event> DecodeEvent(absl::string_view bytes) {
  if (bytes.size() > kEventBytesMax) return absl::DataLossError("event record too long");
  FieldReader reader(bytes);
  Event event;
  uint8_t version = 0, type = 0;
  int64_t event_us = 0, received_us = 0;
  if (!reader.Fixed(&version) || version != kEncodingVersion) {
    return absl::DataLossError("event record: unknown encoding version");
  }
  if (!reader.Fixed(&type) || type == 0 || type > kEventTypeMax) {
    return absl::DataLossError("event record: bad type");
  }
  event.type = static_cast<EventType>(type);
  if (!reader.Fixed(&event.attempts) || !reader.Fixed(&event.queue_id) ||
      !reader.Fixed(&event_us) || !reader.Fixed(&received_us)) {
    return absl::DataLossError("event record: truncated");
  }
  event.event_time = absl::FromUnixMicros(event_us);
  event.received_time = absl::FromUnixMicros(received_us);
  for (int i = 0; i < kStringFields; ++i) {
    if (!reader.String(StringField(&event, i)))
      return absl::DataLossError("event record: truncated string");
  }
  if (!reader.empty()) return absl::DataLossError("event record: trailing bytes");
  return event;
}

void WriteEventJson(const Event& event, core::JsonWriter* json) {
  json->BeginObject();
  json->Key("event_id");
  json->String(event.event_id);
  json->Key("type");
  json->String(EventTypeName(event.type));
  json->Key("time");
  json->String(RfcTime(event.event_time));
  json->Key("queue_id");
  json->String(absl::StrFormat("%016x", event.queue_id));
  json->Key("message_id");
  json->String(event.message_id);
  json->Key("sender");
  json->String(event.sender);
  json->Key("recipient");
  json->String(event.recipient);
  json->Key("class");
  json->String(event.bounce_class);
  json->Key("reply");
  json->String(event.reply);
  json->Key("destination");
  json->String(event.destination);
  json->Key("egress_source");
  json->String(event.egress_source);
  json->Key("egress_pool");
  json->String(event.egress_pool);
  json->Key("attempts");
  json->Number(uint64_t{event.attempts});
  json->Key("received_time");
  json->String(RfcTime(event.received_time));
  if (!event.metadata.empty()) {
    json->Key("metadata");
    if (IsJsonObject(event.metadata)) {
      json->Raw(event.metadata);
    } else {
      json->String(event.metadata);
    }
  }
  json->EndObject();
}

std::string EventBatchJson(std::span<const Event> events) {
  std::string body;
  core::JsonWriter json(&body);
  json.BeginArray();
  for (const Event& event : events) WriteEventJson(event, &json);
  json.EndArray();
  return body;
}

}  // namespace tern::events
