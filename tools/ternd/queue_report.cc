// Implementation of tools/ternd/queue_report.h.
#include "tools/ternd/queue_report.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "core/json_writer.h"
#include "core/utf8.h"

namespace tern::tools::ternd {

using queue::ActionOutcome;
using queue::FormatQueueId;
using queue::MessageDetails;
using queue::MessageState;
using queue::MessageStateName;
using queue::QueueAction;
using queue::QueueActionName;
using queue::QueueListing;
using queue::QueueRow;
using queue::ShardStats;

namespace {

std::string Iso8601(int64_t unix_us) { return FormatUtcSeconds(absl::FromUnixMicros(unix_us)); }

// Rows of every shard merged in queue id order, at most `limit`.
std::vector<const QueueRow*> MergedRows(const std::vector<QueueListing>& shards, size_t limit) {
  std::vector<const QueueRow*> rows;
  for (const QueueListing& listing : shards) {
    for (const QueueRow& row : listing.rows) rows.push_back(&row);
  }
  std::sort(rows.begin(), rows.end(),
            [](const QueueRow* a, const QueueRow* b) { return a->id < b->id; });
  if (rows.size() > limit) rows.resize(limit);
  return rows;
}

void RowJson(const QueueRow& row, absl::Time now, core::JsonWriter* json) {
  json->BeginObject();
  json->Key("id");
  json->String(FormatQueueId(row.id));
  json->Key("shard");
  json->Number(static_cast<int64_t>(row.shard));
  json->Key("state");
  json->String(MessageStateName(row.state));
  json->Key("received");
  json->String(Iso8601(row.received_unix_us));
  json->Key("age_seconds");
  json->Number(absl::ToInt64Seconds(now - absl::FromUnixMicros(row.received_unix_us)));
  json->Key("size");
  json->Number(row.size);
  json->Key("attempts");
  json->Number(static_cast<uint64_t>(row.attempts));
  if (row.state == MessageState::kDeferred && row.next_attempt_unix_us > 0) {
    json->Key("next_attempt");
    json->String(Iso8601(row.next_attempt_unix_us));
  }
  if (row.held_until_unix_us > 0) {
    json->Key("held_until");
    json->String(Iso8601(row.held_until_unix_us));
  }
  json->Key("sender");
  json->String(row.sender);
  json->Key("recipients");
  json->BeginArray();
  for (const QueueRow::Recipient& r : row.recipients) {
    json->BeginObject();
    json->Key("address");
    json->String(r.address);
    json->Key("state");
    json->String(spool::RecipientStateName(r.state));
    if (!r.last_reply.empty()) {
      json->Key("last_reply");
      json->String(r.last_reply);
    }
    if (!r.last_class.empty()) {
      json->Key("last_class");
      json->String(r.last_class);
    }
    json->EndObject();
  }
  json->EndArray();
  json->EndObject();
}

void RowText(const QueueRow& row, absl::Time now, std::string* out) {
  absl::StrAppendFormat(out, "%s  %-8s %7s %9d %5d  %s\n", FormatQueueId(row.id),
                        MessageStateName(row.state),
                        ShortDuration(now - absl::FromUnixMicros(row.received_unix_us)), row.size,
                        row.attempts, row.sender.empty() ? "<>" : row.sender);
  if (row.held_until_unix_us > 0) {
    absl::StrAppendFormat(out, "%52s(held until %s)\n", "", Iso8601(row.held_until_unix_us));
  }
  for (const QueueRow::Recipient& r : row.recipients) {
    absl::StrAppendFormat(out, "%52s%s (%s)\n", "", r.address, spool::RecipientStateName(r.state));
    // As postqueue -p shows why a recipient is still queued.
    if (!r.last_reply.empty()) {
      absl::StrAppendFormat(out, "%54s(%s)%s\n", "", r.last_reply,
                            r.last_class.empty() ? "" : absl::StrCat(" [", r.last_class, "]"));
    }
  }
}

}  // namespace

std::string FormatUtcSeconds(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

void AppendDestinationJson(int shard, const delivery::DestinationStats& d, absl::Time now,
                           core::JsonWriter* json) {
  json->BeginObject();
  json->Key("shard");
  json->Number(static_cast<int64_t>(shard));
  json->Key("destination");
  json->String(d.name);
  for (const auto& [key, value] : {std::pair<const char*, uint64_t>{"pending_jobs", d.pending_jobs},
                                   {"connections", d.connections},
                                   {"connecting", d.connecting},
                                   {"delivered", d.delivered},
                                   {"deferred", d.deferred},
                                   {"bounced", d.bounced},
                                   {"results_last_minute", d.results_last_minute}}) {
    json->Key(key);
    json->Number(value);
  }
  json->Key("last_error");
  json->String(d.last_error);
  json->Key("last_error_seconds_ago");
  json->Number(d.last_error.empty() ? int64_t{-1} : absl::ToInt64Seconds(now - d.last_error_at));
  json->EndObject();
}

std::string ShortDuration(absl::Duration d) {
  int64_t s = std::max<int64_t>(0, absl::ToInt64Seconds(d));
  if (s < 60) return absl::StrCat(s, "s");
  if (s < 3600) return absl::StrCat(s / 60, "m", s % 60, "s");
  if (s < 86400) return absl::StrCat(s / 3600, "h", s % 3600 / 60, "m");
  return absl::StrCat(s / 86400, "d", s % 86400 / 3600, "h");
}

std::string QueueJson(const std::vector<QueueListing>& shards, size_t limit, uint64_t total,
                      uint64_t total_bytes, absl::Time now) {
  uint64_t matched = 0;
  uint64_t matched_bytes = 0;
  for (const QueueListing& l : shards) {
    matched += l.matched;
    matched_bytes += l.matched_bytes;
  }
  std::string out;
  core::JsonWriter json(&out);
  json.BeginObject();
  json.Key("total");
  json.Number(total);
  json.Key("bytes");
  json.Number(total_bytes);
  json.Key("matched");
  json.Number(matched);
  json.Key("matched_bytes");
  json.Number(matched_bytes);
  json.Key("messages");
  json.BeginArray();
  for (const QueueRow* row : MergedRows(shards, limit)) {
    out.push_back('\n');
    RowJson(*row, now, &json);
  }
  json.EndArray();
  json.EndObject();
  out.push_back('\n');
  return out;
}

std::string QueueJsonLines(const std::vector<QueueListing>& shards, size_t limit, absl::Time now) {
  std::string out;
  core::JsonWriter json(&out);
  for (const QueueRow* row : MergedRows(shards, limit)) {
    RowJson(*row, now, &json);
    out.push_back('\n');
  }
  return out;
}

std::string QueueText(const std::vector<QueueListing>& shards, size_t limit, uint64_t total,
                      uint64_t total_bytes, absl::Time now) {
  uint64_t matched = 0;
  for (const QueueListing& l : shards) matched += l.matched;
  std::string out;
  absl::StrAppendFormat(&out, "%-16s  %-8s %7s %9s %5s  %s\n", "QUEUE ID", "STATE", "AGE", "SIZE",
                        "TRIES", "SENDER / RECIPIENTS");
  const std::vector<const QueueRow*> rows = MergedRows(shards, limit);
  for (const QueueRow* row : rows) RowText(*row, now, &out);
  if (matched == total) {
    absl::StrAppendFormat(&out, "-- %d messages, %d bytes in queue", total, total_bytes);
  } else {
    absl::StrAppendFormat(&out, "-- %d of %d messages match (%d bytes in queue)", matched, total,
                          total_bytes);
  }
  if (rows.size() < matched) absl::StrAppendFormat(&out, "; first %d shown", rows.size());
  out += "\n";
  return out;
}

std::string DetailsJson(const MessageDetails& d, absl::Time now) {
  std::string out;
  core::JsonWriter json(&out);
  json.BeginObject();
  json.Key("message");
  RowJson(d.row, now, &json);
  json.Key("envelope");
  json.BeginObject();
  json.Key("client_address");
  json.String(d.client_address);
  json.Key("helo");
  json.String(d.helo);
  json.Key("envid");
  json.String(d.envid);
  json.Key("orcpts");
  json.BeginArray();
  for (const std::string& o : d.orcpts) json.String(o);
  json.EndArray();
  json.EndObject();
  json.Key("headers");
  json.String(d.headers);
  json.Key("headers_truncated");
  json.Bool(d.headers_truncated);
  if (!d.read_error.empty()) {
    json.Key("read_error");
    json.String(d.read_error);
  }
  json.Key("attempts");
  json.BeginArray();
  for (size_t i = 0; i < d.attempts.size(); ++i) {
    const spool::AttemptNote& a = d.attempts[i];
    json.BeginObject();
    json.Key("time");
    json.String(a.at_unix_us == 0 ? "" : Iso8601(a.at_unix_us));
    json.Key("attempt");
    json.Number(static_cast<uint64_t>(a.attempt));
    json.Key("recipient");
    json.String(a.recipient < d.row.recipients.size() ? d.row.recipients[a.recipient].address : "");
    json.Key("result");
    json.String(spool::RecipientStateName(a.state));
    json.Key("reply_code");
    json.Number(static_cast<uint64_t>(a.reply_code));
    json.Key("enhanced_code");
    json.String(a.enhanced_code);
    json.Key("reply");
    json.String(a.reply_text);
    json.Key("host");
    json.String(a.destination_host);
    if (i < d.attempt_classes.size() && !d.attempt_classes[i].empty()) {
      json.Key("class");
      json.String(d.attempt_classes[i]);
    }
    json.EndObject();
  }
  json.EndArray();
  json.EndObject();
  out.push_back('\n');
  return out;
}

std::string DetailsText(const MessageDetails& d, absl::Time now) {
  const QueueRow& row = d.row;
  std::string out;
  absl::StrAppendFormat(&out, "Queue ID:    %s (shard %d)\n", FormatQueueId(row.id), row.shard);
  absl::StrAppendFormat(&out, "State:       %s, %d attempts", MessageStateName(row.state),
                        row.attempts);
  if (row.state == MessageState::kDeferred && row.next_attempt_unix_us > 0) {
    absl::StrAppendFormat(&out, ", next %s", Iso8601(row.next_attempt_unix_us));
  }
  if (row.held_until_unix_us > 0) {
    absl::StrAppendFormat(&out, ", held until %s", Iso8601(row.held_until_unix_us));
  }
  absl::StrAppendFormat(
      &out, "\nReceived:    %s (%s ago) from %s (HELO %s)\n", Iso8601(row.received_unix_us),
      ShortDuration(now - absl::FromUnixMicros(row.received_unix_us)), d.client_address, d.helo);
  absl::StrAppendFormat(&out, "Size:        %d bytes\n", row.size);
  absl::StrAppendFormat(&out, "Sender:      %s\n", row.sender.empty() ? "<>" : row.sender);
  if (!d.envid.empty()) absl::StrAppendFormat(&out, "ENVID:       %s\n", d.envid);
  for (size_t i = 0; i < row.recipients.size(); ++i) {
    absl::StrAppendFormat(&out, "Recipient:   %s (%s)", row.recipients[i].address,
                          spool::RecipientStateName(row.recipients[i].state));
    if (i < d.orcpts.size() && !d.orcpts[i].empty()) {
      absl::StrAppendFormat(&out, " ORCPT=%s", d.orcpts[i]);
    }
    out += "\n";
  }
  out += "\nAttempts:\n";
  if (d.attempts.empty()) out += "  (none yet)\n";
  for (size_t i = 0; i < d.attempts.size(); ++i) {
    const spool::AttemptNote& a = d.attempts[i];
    const bool classed = i < d.attempt_classes.size() && !d.attempt_classes[i].empty();
    absl::StrAppendFormat(
        &out, "  #%d %s %s %s%s: %s%s%s\n", a.attempt,
        a.at_unix_us == 0 ? std::string("(before restart)") : Iso8601(a.at_unix_us),
        a.recipient < row.recipients.size() ? row.recipients[a.recipient].address : "?",
        spool::RecipientStateName(a.state),
        classed ? absl::StrCat(" [", d.attempt_classes[i], "]") : "", a.reply_text,
        a.destination_host.empty() ? "" : " from ", a.destination_host);
  }
  if (!d.read_error.empty())
    absl::StrAppendFormat(&out, "\n(content unreadable: %s)\n", d.read_error);
  out += "\nHeaders:\n";
  for (absl::string_view line : absl::StrSplit(d.headers, '\n', absl::SkipEmpty())) {
    absl::ConsumeSuffix(&line, "\r");
    absl::StrAppend(&out, "  ", line, "\n");
  }
  if (d.headers_truncated) out += "  (truncated)\n";
  return out;
}

std::string ActionJson(QueueAction action, const std::vector<ActionOutcome>& shards) {
  uint64_t matched = 0;
  uint64_t changed = 0;
  std::string out;
  core::JsonWriter json(&out);
  for (const ActionOutcome& o : shards) {
    matched += o.matched;
    changed += o.changed;
  }
  json.BeginObject();
  json.Key("action");
  json.String(QueueActionName(action));
  json.Key("matched");
  json.Number(matched);
  json.Key("changed");
  json.Number(changed);
  json.Key("errors");
  json.BeginArray();
  for (const ActionOutcome& o : shards) {
    for (const auto& [id, why] : o.errors) {
      json.BeginObject();
      json.Key("id");
      json.String(id == 0 ? "" : FormatQueueId(id));
      json.Key("error");
      json.String(why);
      json.EndObject();
    }
  }
  json.EndArray();
  json.EndObject();
  out.push_back('\n');
  return out;
}

std::string ActionText(QueueAction action, const std::vector<ActionOutcome>& shards) {
  uint64_t matched = 0;
  uint64_t changed = 0;
  std::string errors;
  for (const ActionOutcome& o : shards) {
    matched += o.matched;
    changed += o.changed;
    for (const auto& [id, why] : o.errors) {
      absl::StrAppend(&errors, "  ", id == 0 ? std::string("-") : FormatQueueId(id), ": ", why,
                      "\n");
    }
  }
  static constexpr const char* kDone[] = {"held", "released", "scheduled now", "deleted",
                                          "returned to their senders"};
  std::string out = absl::StrFormat("%s: %d messages matched, %d %s\n", QueueActionName(action),
                                    matched, changed, kDone[static_cast<int>(action)]);
  if (!errors.empty()) absl::StrAppend(&out, "not done:\n", errors);
  return out;
}

std::string StatsJson(const std::vector<ShardStats>& shards, const Rates& rates, absl::Time now) {
  std::string out;
  core::JsonWriter json(&out);
  json.BeginObject();
  json.Key("rates_per_second");
  json.BeginObject();
  json.Key("window_seconds");
  json.Number(static_cast<int64_t>(rates.window_seconds));
  json.Key("accepted");
  json.Raw(absl::StrFormat("%.2f", rates.accepted));
  json.Key("delivered");
  json.Raw(absl::StrFormat("%.2f", rates.delivered));
  json.Key("deferred");
  json.Raw(absl::StrFormat("%.2f", rates.deferred));
  json.Key("bounced");
  json.Raw(absl::StrFormat("%.2f", rates.bounced));
  json.EndObject();
  json.Key("shards");
  json.BeginArray();
  for (const ShardStats& s : shards) {
    json.BeginObject();
    json.Key("shard");
    json.Number(static_cast<int64_t>(s.shard));
    for (const auto& [key, value] : std::vector<std::pair<const char*, uint64_t>>{
             {"messages", s.messages},
             {"bytes", s.bytes},
             {"queued", s.queued},
             {"deferred", s.deferred},
             {"held", s.held},
             {"active", s.active},
             {"recipients_left", s.recipients_left},
             {"smtp_connections", s.smtp_connections},
             {"outbound_connections", s.outbound_connections}}) {
      json.Key(key);
      json.Number(value);
    }
    json.EndObject();
  }
  json.EndArray();
  json.Key("destinations");
  json.BeginArray();
  for (const ShardStats& s : shards) {
    for (const auto& d : s.destinations) AppendDestinationJson(s.shard, d, now, &json);
  }
  json.EndArray();
  json.EndObject();
  out.push_back('\n');
  return out;
}

std::string StatsText(const std::vector<ShardStats>& shards, const Rates& rates, absl::Time now) {
  std::string out;
  if (rates.window_seconds > 0) {
    absl::StrAppendFormat(&out,
                          "last %ds, per second: %.1f accepted, %.1f delivered, %.1f deferred, "
                          "%.1f bounced\n\n",
                          rates.window_seconds, rates.accepted, rates.delivered, rates.deferred,
                          rates.bounced);
  }
  absl::StrAppendFormat(&out, "%5s %9s %12s %8s %8s %6s %6s %6s %6s\n", "SHARD", "MESSAGES",
                        "BYTES", "QUEUED", "DEFERRED", "HELD", "ACTIVE", "SMTP", "OUT");
  for (const ShardStats& s : shards) {
    absl::StrAppendFormat(&out, "%5d %9d %12d %8d %8d %6d %6d %6d %6d\n", s.shard, s.messages,
                          s.bytes, s.queued, s.deferred, s.held, s.active, s.smtp_connections,
                          s.outbound_connections);
  }
  absl::StrAppendFormat(&out, "\n%-32s %5s %7s %5s %6s %9s %8s %7s  %s\n", "DESTINATION", "SHARD",
                        "PENDING", "CONNS", "PER/MIN", "DELIVERED", "DEFERRED", "BOUNCED",
                        "LAST ERROR");
  for (const ShardStats& s : shards) {
    for (const auto& d : s.destinations) {
      std::string last = d.last_error.empty()
                             ? std::string("-")
                             : absl::StrCat(ShortDuration(now - d.last_error_at),
                                            " ago: ", core::Utf8Prefix(d.last_error, 80));
      absl::StrAppendFormat(&out, "%-32s %5d %7d %5d %6d %9d %8d %7d  %s\n", d.name, s.shard,
                            d.pending_jobs, d.connections + d.connecting, d.results_last_minute,
                            d.delivered, d.deferred, d.bounced, last);
    }
  }
  return out;
}

std::string BounceVerdictText(const queue::BounceVerdict& verdict) {
  return absl::StrCat(verdict.bounce_class, " (", verdict.reason, ")\n");
}

std::string BounceVerdictJson(const queue::BounceVerdict& verdict) {
  std::string out;
  core::JsonWriter json(&out);
  json.BeginObject();
  json.Key("reply");
  json.String(verdict.reply);
  json.Key("class");
  json.String(verdict.bounce_class);
  json.Key("reason");
  json.String(verdict.reason);
  json.EndObject();
  out.push_back('\n');
  return out;
}

}  // namespace tern::tools::ternd
