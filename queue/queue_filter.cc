// Implementation of queue/queue_filter.h.
#include "queue/queue_filter.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "net/smtp/address.h"

namespace tern::queue {
namespace {

bool DomainMatches(absl::string_view domain, absl::string_view wanted) {
  if (absl::StartsWith(wanted, ".")) {
    return absl::EqualsIgnoreCase(domain, wanted.substr(1)) ||
           absl::EndsWithIgnoreCase(domain, wanted);
  }
  return absl::EqualsIgnoreCase(domain, wanted);
}

// `needle` is lower case.
bool ContainsIgnoreCase(absl::string_view haystack, absl::string_view needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                     [](char a, char b) {
                       return absl::ascii_tolower(static_cast<unsigned char>(a)) == b;
                     }) != haystack.end();
}

absl::StatusOr<std::optional<int64_t>> ParseSeconds(const net::QueryParams& params,
                                                    absl::string_view key) {
  if (!net::HasQueryKey(params, key)) return std::optional<int64_t>();
  int64_t seconds = 0;
  if (!absl::SimpleAtoi(net::QueryValue(params, key), &seconds) || seconds < 0) {
    return absl::InvalidArgumentError(absl::StrCat(key, ": not a number of seconds"));
  }
  return std::optional<int64_t>(seconds);
}

}  // namespace

const char* MessageStateName(MessageState state) {
  switch (state) {
    case MessageState::kQueued:
      return "queued";
    case MessageState::kDeferred:
      return "deferred";
    case MessageState::kHeld:
      return "held";
    case MessageState::kActive:
      return "active";
  }
  return "unknown";
}

MessageState StateOf(const spool::QueueEntry& entry, bool in_delivery) {
  if (in_delivery) return MessageState::kActive;
  if (entry.held()) return MessageState::kHeld;
  return entry.attempts() > 0 ? MessageState::kDeferred : MessageState::kQueued;
}

std::optional<uint64_t> ParseQueueId(absl::string_view text) {
  uint64_t id = 0;
  if (text.empty() || text.size() > 16 || !absl::SimpleHexAtoi(text, &id)) return std::nullopt;
  for (const char c : text) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  return id;
}

std::string FormatQueueId(uint64_t id) { return absl::StrFormat("%016X", id); }

absl::StatusOr<QueueFilter> QueueFilter::FromQuery(const net::QueryParams& params) {
  QueueFilter filter;
  for (const std::string& text : net::QueryValues(params, "id")) {
    std::optional<uint64_t> id = ParseQueueId(text);
    if (!id.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat("id: '", text, "' is not a queue id"));
    }
    filter.ids.push_back(*id);
  }
  filter.domain = absl::AsciiStrToLower(net::QueryValue(params, "domain"));
  filter.sender = absl::AsciiStrToLower(net::QueryValue(params, "sender"));
  filter.recipient = absl::AsciiStrToLower(net::QueryValue(params, "recipient"));
  absl::StatusOr<std::optional<int64_t>> min_age = ParseSeconds(params, "min_age");
  if (!min_age.ok()) return min_age.status();
  filter.min_age_seconds = *min_age;
  absl::StatusOr<std::optional<int64_t>> max_age = ParseSeconds(params, "max_age");
  if (!max_age.ok()) return max_age.status();
  filter.max_age_seconds = *max_age;
  if (net::HasQueryKey(params, "state")) {
    const std::string state = net::QueryValue(params, "state");
    for (MessageState s : {MessageState::kQueued, MessageState::kDeferred, MessageState::kHeld,
                           MessageState::kActive}) {
      if (state == MessageStateName(s)) filter.state = s;
    }
    if (!filter.state.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("state: '", state, "' is not one of queued, deferred, held, active"));
    }
  }
  return filter;
}

bool QueueFilter::everything() const {
  return ids.empty() && domain.empty() && sender.empty() && recipient.empty() &&
         !min_age_seconds.has_value() && !max_age_seconds.has_value() && !state.has_value();
}

bool QueueFilter::Matches(const spool::QueueEntry& entry, absl::Time now,
                          MessageState message_state) const {
  if (state.has_value() && *state != message_state) return false;
  if (min_age_seconds.has_value() || max_age_seconds.has_value()) {
    const int64_t age = absl::ToInt64Seconds(now - absl::FromUnixMicros(entry.received_unix_us()));
    if (min_age_seconds.has_value() && age < *min_age_seconds) return false;
    if (max_age_seconds.has_value() && age > *max_age_seconds) return false;
  }
  if (!sender.empty()) {
    if (sender == "<>") {
      if (!entry.sender().empty()) return false;
    } else if (!ContainsIgnoreCase(entry.sender(), sender)) {
      return false;
    }
  }
  if (domain.empty() && recipient.empty()) return true;
  for (uint32_t i = 0; i < entry.recipient_count(); ++i) {
    if (spool::IsFinalRecipientState(entry.recipient_state(i))) continue;
    const absl::string_view address = entry.recipient(i);
    if (!domain.empty() && !DomainMatches(net::smtp::DomainOf(address), domain)) continue;
    if (!recipient.empty() && !ContainsIgnoreCase(address, recipient)) continue;
    return true;
  }
  return false;
}

}  // namespace tern::queue
