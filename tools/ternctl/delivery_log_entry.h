// DeliveryLogEntry: one line of ternd's delivery log (delivery/delivery_log.h writes them)
// read back for `ternctl report`. The log holds remote text (replies, addresses), so the
// parser takes any bytes: a line that is not a JSON object with a known "event" and a
// parseable "time" is refused (nullopt) and the caller counts it as skipped.
//
//   std::optional<DeliveryLogEntry> e = ParseDeliveryLogLine(line);
//   if (!e.has_value()) ++skipped; else report.Add(*e);
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tern::tools::ternctl {

enum class LogEvent { kReceived, kDelivered, kDeferred, kBounced, kExpired, kDeleted, kSuppressed };
inline constexpr int kLogEvents = 7;

// "received", "delivered", ... (the log's own words).
absl::string_view LogEventName(LogEvent event);

struct DeliveryLogEntry {
  absl::Time time;
  LogEvent event = LogEvent::kReceived;
  uint64_t queue_id = 0;  // 0 when absent or not hexadecimal
  std::string sender;     // "" for bounces (the null sender)
  std::string recipient;  // "" for "received"
  std::string reply;
  std::string bounce_class;         // "bad-mailbox" of a failure; "" when absent (older lines)
  std::optional<int64_t> delay_ms;  // since the message was received
};

std::optional<DeliveryLogEntry> ParseDeliveryLogLine(absl::string_view line);

inline constexpr size_t kLogDomainBytesMax = 255;

// The domain of an address ("Bob@Example.COM" -> "example.com"), "<>" for the null sender,
// the address itself (lowercased) when it has no '@'; at most kLogDomainBytesMax bytes.
std::string LogAddressDomain(absl::string_view address);

}  // namespace tern::tools::ternctl
