// Implementation of tools/ternctl/delivery_log_entry.h, with nlohmann-json's non-throwing
// parser (json::parse(..., nullptr, false) and is_discarded()).
#include "tools/ternctl/delivery_log_entry.h"

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "delivery/bounce_class.h"

namespace tern::tools::ternctl {
namespace {

constexpr absl::string_view kEventNames[kLogEvents] = {
    "received", "delivered", "deferred", "bounced", "expired", "deleted", "suppressed"};

const std::string* StringField(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return nullptr;
  return it->get_ptr<const std::string*>();
}

}  // namespace

absl::string_view LogEventName(LogEvent event) { return kEventNames[static_cast<int>(event)]; }

std::optional<DeliveryLogEntry> ParseDeliveryLogLine(absl::string_view line) {
  const nlohmann::json object =
      nlohmann::json::parse(line.begin(), line.end(), /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded() || !object.is_object()) return std::nullopt;
  const std::string* time = StringField(object, "time");
  const std::string* event = StringField(object, "event");
  if (time == nullptr || event == nullptr) return std::nullopt;
  DeliveryLogEntry entry;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, *time, &entry.time, &error)) return std::nullopt;
  int index = 0;
  while (index < kLogEvents && kEventNames[index] != *event) ++index;
  if (index == kLogEvents) return std::nullopt;
  entry.event = static_cast<LogEvent>(index);
  if (const std::string* id = StringField(object, "queue_id")) {
    if (!absl::SimpleHexAtoi(*id, &entry.queue_id)) entry.queue_id = 0;
  }
  if (const std::string* sender = StringField(object, "sender")) entry.sender = *sender;
  if (const std::string* recipient = StringField(object, "recipient")) {
    entry.recipient = *recipient;
  }
  if (const std::string* reply = StringField(object, "reply")) entry.reply = *reply;
  // Only a class name Tern writes counts (anything else is a foreign or damaged line's).
  if (const std::string* name = StringField(object, "class")) {
    if (delivery::ParseBounceClassName(*name).has_value()) entry.bounce_class = *name;
  }
  if (auto it = object.find("delay_ms"); it != object.end() && it->is_number_integer()) {
    const int64_t delay_ms = it->get<int64_t>();
    if (delay_ms >= 0) entry.delay_ms = delay_ms;
  }
  return entry;
}

std::string LogAddressDomain(absl::string_view address) {
  if (address.empty() || address == "<>") return "<>";
  const size_t at = address.rfind('@');
  std::string domain(at == absl::string_view::npos ? address : address.substr(at + 1));
  absl::AsciiStrToLower(&domain);
  if (!domain.empty() && domain.back() == '>') domain.pop_back();
  // The report keeps thousands of these: no longer than a domain can be (RFC 1035 §2.3.4).
  if (domain.size() > kLogDomainBytesMax) domain.resize(kLogDomainBytesMax);
  return domain.empty() ? "<>" : domain;
}

}  // namespace tern::tools::ternctl
