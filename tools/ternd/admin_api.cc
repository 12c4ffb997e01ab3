// Implementation of tools/ternd/admin_api.h.
#include "tools/ternd/admin_api.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/log.h"
#include "queue/queue_filter.h"
#include "queue/queue_shape.h"
#include "tools/ternd/flag_report.h"
#include "tools/ternd/metrics_page.h"
#include "tools/ternd/queue_report.h"
#include "tools/ternd/status_page.h"

namespace tern::tools::ternd {

using queue::ActionOptions;
using queue::ActionOutcome;
using queue::ApplyQueueAction;
using queue::BounceVerdict;
using queue::ClassifyReply;
using queue::CollectShardStats;
using queue::FormatQueueId;
using queue::kShowMessageBytesMax;
using queue::ListQueue;
using queue::MessageDetails;
using queue::ParseQueueId;
using queue::QueueAction;
using queue::QueueActionName;
using queue::QueueFilter;
using queue::QueueListing;
using queue::QueueShape;
using queue::ReadStoredMessage;
using queue::ShapeJson;
using queue::ShapeJsonLines;
using queue::ShapeQueue;
using queue::ShapeText;
using queue::ShardStats;
using queue::ShardView;
using queue::ShowMessage;
using queue::StoredMessage;

namespace {

uint64_t Load(const std::atomic<uint64_t>& counter) {
  return counter.load(std::memory_order_relaxed);
}

constexpr const char* kText = "text/plain; charset=utf-8";
constexpr const char* kJson = "application/json";

constexpr const char* kJsonLines = "application/jsonl";

bool Text(const net::QueryParams& params) { return net::QueryValue(params, "format") == "text"; }
bool JsonLines(const net::QueryParams& params) {
  return net::QueryValue(params, "format") == "jsonl";
}

// The operator's bounce or suspend reason: it becomes a DSN's diagnostic line, a delivery
// log field or a state file field, so one short line of printable ASCII.
absl::StatusOr<std::string> BounceReason(const net::QueryParams& params) {
  static constexpr size_t kBounceReasonBytesMax = 200;
  std::string reason = net::QueryValue(params, "reason");
  if (reason.size() > kBounceReasonBytesMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("reason: longer than ", kBounceReasonBytesMax, " bytes"));
  }
  for (const char c : reason) {
    if (c < 0x20 || c > 0x7e) {
      return absl::InvalidArgumentError("reason: printable ASCII only (one line)");
    }
  }
  return reason;
}

// A domain, MX host list or egress source name as a scope part: letters, digits, '.', '-',
// '_' (and ',' between MX hosts), at most ShapingOverride::kKeyBytesMax bytes.
bool ScopeNameOk(absl::string_view name, bool commas) {
  if (name.empty() || name.size() > queue::ShapingOverride::kKeyBytesMax) return false;
  for (const char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_' &&
        !(commas && c == ',')) {
      return false;
    }
  }
  return true;
}

net::HttpResponse Unavailable(int shard) {
  return {503, kText, absl::StrCat("shard ", shard, " did not answer (stopping or busy)\n")};
}

}  // namespace

net::HttpResponse AdminApi::Handle(absl::string_view method, absl::string_view target,
                                   absl::string_view body) {
  absl::string_view path = target;
  absl::string_view query;
  if (size_t q = target.find('?'); q != absl::string_view::npos) {
    path = target.substr(0, q);
    query = target.substr(q + 1);
  }
  const net::QueryParams params = net::ParseQuery(query);
  static constexpr std::pair<absl::string_view, QueueAction> kActions[] = {
      {"/hold", QueueAction::kHold},     {"/release", QueueAction::kRelease},
      {"/flush", QueueAction::kFlush},   {"/delete", QueueAction::kDelete},
      {"/bounce", QueueAction::kBounce},
  };
  for (const auto& [action_path, action] : kActions) {
    if (path != action_path) continue;
    if (method != "POST") return {405, kText, "changes need POST\n"};
    return Action(action, params);
  }
  if (path == "/metrics") {
    return {200, "text/plain; version=0.0.4; charset=utf-8",
            MetricsPage(*shards_, {.shaping = shaping_.state,
                                   .suppression = suppression_,
                                   .events = event_journal_,
                                   .webhook = webhook_sender_})};
  }
  if (path == "/queue") return Queue(params);
  if (path == "/message") return Message(params);
  if (path == "/qshape") return Shape(params);
  if (path == "/config") {
    const std::vector<FlagSetting> flags = NonDefaultFlags();
    if (Text(params)) return {200, kText, FlagsText(flags)};
    if (JsonLines(params)) return {200, kJsonLines, FlagsJsonLines(flags)};
    return {200, kJson, FlagsJson(flags)};
  }
  if (path == "/stats") return Stats(params);
  if (path == "/healthz") return {200, kText, "ok\n"};
  if (path == "/") return {200, "text/html; charset=utf-8", std::string(StatusPageHtml())};
  if (path == "/status.json") return StatusData(params);
  if (path == "/shaping") return Shaping(params);
  if (path == "/classify") return Classify(params);
  if (std::optional<net::HttpResponse> answer =
          suppression_api_.Handle(method, path, params, body)) {
    return *std::move(answer);
  }
  if (path == "/suspend" || path == "/resume") {
    if (method != "POST") return {405, kText, "changes need POST\n"};
    return Suspend(params, path == "/resume");
  }
  return {404, kText, "not found\n"};
}

void AdminApi::Tick() {
  history_.MaybeSample(absl::Now(), [this] { return Sample(); });
}

ThroughputSample AdminApi::Sample() const {
  ThroughputSample sample;
  for (const auto& shard : *shards_) {
    sample.accepted += Load(shard->smtp_counters().messages_accepted);
    const delivery::DeliveryCounters& d = shard->delivery_counters();
    sample.delivered += Load(d.recipients_delivered);
    sample.deferred += d.Failures(delivery::FailedResult::kDeferred);
    sample.bounced +=
        d.Failures(delivery::FailedResult::kBounced) + d.Failures(delivery::FailedResult::kExpired);
    sample.queue_messages += shard->queue_messages();
    sample.queue_bytes += shard->queue_bytes();
    sample.smtp_connections += shard->open_connections();
    sample.outbound_connections += Load(d.active_connections);
  }
  return sample;
}

net::HttpResponse AdminApi::Queue(const net::QueryParams& params) const {
  size_t limit = kQueueRowsDefault;
  if (const std::string text = net::QueryValue(params, "limit");
      !text.empty() && !absl::SimpleAtoi(text, &limit)) {
    return {400, kText, "limit: not a number\n"};
  }
  absl::StatusOr<QueueFilter> filter = QueueFilter::FromQuery(params);
  if (!filter.ok()) return {400, kText, absl::StrCat(filter.status().message(), "\n")};
  std::vector<QueueListing> listings;
  uint64_t total = 0;
  uint64_t bytes = 0;
  for (const auto& shard : *shards_) {
    total += shard->queue_messages();
    bytes += shard->queue_bytes();
    std::optional<QueueListing> listing = shard->Ask<QueueListing>(
        [filter = *filter, limit](const ShardView& view, auto reply) mutable {
          ListQueue(view, filter, limit, std::move(reply));
        });
    if (!listing.has_value()) return Unavailable(shard->id());
    listings.push_back(*std::move(listing));
  }
  const absl::Time now = absl::Now();
  if (Text(params)) return {200, kText, QueueText(listings, limit, total, bytes, now)};
  if (JsonLines(params)) return {200, kJsonLines, QueueJsonLines(listings, limit, now)};
  return {200, kJson, QueueJson(listings, limit, total, bytes, now)};
}

net::HttpResponse AdminApi::Message(const net::QueryParams& params) const {
  std::optional<uint64_t> id = ParseQueueId(net::QueryValue(params, "id"));
  if (!id.has_value()) return {400, kText, "id: give a queue id (16 hex digits)\n"};
  if (net::QueryValue(params, "body") == "1") return MessageBody(*id);
  for (const auto& shard : *shards_) {
    std::optional<MessageDetails> details =
        shard->Ask<MessageDetails>([id = *id](const ShardView& view, auto reply) mutable {
          ShowMessage(view, id, std::move(reply));
        });
    if (!details.has_value()) return Unavailable(shard->id());
    if (!details->found) continue;
    const absl::Time now = absl::Now();
    if (Text(params)) return {200, kText, DetailsText(*details, now)};
    return {200, kJson, DetailsJson(*details, now)};
  }
  return {404, kText, absl::StrCat(FormatQueueId(*id), ": not in the queue\n")};
}

net::HttpResponse AdminApi::MessageBody(uint64_t id) const {
  for (const auto& shard : *shards_) {
    std::optional<StoredMessage> message =
        shard->Ask<StoredMessage>([id](const ShardView& view, auto reply) mutable {
          ReadStoredMessage(view, id, kShowMessageBytesMax, std::move(reply));
        });
    if (!message.has_value()) return Unavailable(shard->id());
    if (!message->found) continue;
    if (!message->read_error.empty()) {
      return {500, kText,
              absl::StrCat(FormatQueueId(id), ": unreadable: ", message->read_error, "\n")};
    }
    if (message->truncated) {
      absl::StrAppend(&message->text, "\n[ternctl: truncated: first ", kShowMessageBytesMax, " of ",
                      message->stored_bytes, " bytes shown]\n");
    }
    return {200, kText, std::move(message->text)};
  }
  return {404, kText, absl::StrCat(FormatQueueId(id), ": not in the queue\n")};
}

net::HttpResponse AdminApi::Classify(const net::QueryParams& params) const {
  const std::string reply(net::QueryValue(params, "reply"));
  if (reply.empty() || reply.size() > kClassifyReplyBytesMax) {
    return {400, kText,
            absl::StrCat("reply: give the reply as one line, \"550 5.1.1 text\" (at most ",
                         kClassifyReplyBytesMax, " bytes)\n")};
  }
  if (shards_->empty()) return Unavailable(0);
  std::optional<BounceVerdict> verdict = shards_->front()->Ask<BounceVerdict>(
      [reply](const ShardView& view, auto answer) { answer(ClassifyReply(view, reply)); });
  if (!verdict.has_value()) return Unavailable(shards_->front()->id());
  if (Text(params)) return {200, kText, BounceVerdictText(*verdict)};
  return {200, kJson, BounceVerdictJson(*verdict)};
}

net::HttpResponse AdminApi::Shape(const net::QueryParams& params) const {
  size_t top = kShapeRowsDefault;
  if (const std::string text = net::QueryValue(params, "top");
      !text.empty() && (!absl::SimpleAtoi(text, &top) || top == 0)) {
    return {400, kText, "top: not a positive number\n"};
  }
  absl::StatusOr<QueueFilter> filter = QueueFilter::FromQuery(params);
  if (!filter.ok()) return {400, kText, absl::StrCat(filter.status().message(), "\n")};
  QueueShape merged;
  for (const auto& shard : *shards_) {
    std::optional<QueueShape> shape =
        shard->Ask<QueueShape>([filter = *filter](const ShardView& view, auto reply) mutable {
          ShapeQueue(view, filter, std::move(reply));
        });
    if (!shape.has_value()) return Unavailable(shard->id());
    merged.Merge(*shape);
  }
  merged.Truncate(top);
  if (Text(params)) return {200, kText, ShapeText(merged)};
  if (JsonLines(params)) return {200, kJsonLines, ShapeJsonLines(merged)};
  return {200, kJson, ShapeJson(merged)};
}

net::HttpResponse AdminApi::Action(QueueAction action, const net::QueryParams& params) const {
  absl::StatusOr<QueueFilter> filter = QueueFilter::FromQuery(params);
  if (!filter.ok()) return {400, kText, absl::StrCat(filter.status().message(), "\n")};
  const bool destructive = action == QueueAction::kDelete || action == QueueAction::kBounce;
  if (destructive && filter->everything() && net::QueryValue(params, "all") != "1") {
    return {400, kText,
            absl::StrCat(QueueActionName(action),
                         ": name the messages (id, domain, sender, recipient, age, state) or "
                         "say all=1\n")};
  }
  ActionOptions options;
  if (net::HasQueryKey(params, "reason")) {
    if (action != QueueAction::kBounce) return {400, kText, "reason: only for bounce\n"};
    absl::StatusOr<std::string> reason = BounceReason(params);
    if (!reason.ok()) return {400, kText, absl::StrCat(reason.status().message(), "\n")};
    options.bounce_reason = *std::move(reason);
  }
  if (net::HasQueryKey(params, "duration")) {
    if (action != QueueAction::kHold) return {400, kText, "duration: only for hold\n"};
    // Seconds (ternctl converts "2h"); up to ten years.
    static constexpr int64_t kHoldSecondsMax = int64_t{3650} * 86400;
    int64_t seconds = 0;
    if (!absl::SimpleAtoi(net::QueryValue(params, "duration"), &seconds) || seconds <= 0 ||
        seconds > kHoldSecondsMax) {
      return {400, kText, "duration: a number of seconds, 1 to 10 years\n"};
    }
    options.hold_until_unix_us = absl::ToUnixMicros(absl::Now() + absl::Seconds(seconds));
  }
  std::vector<ActionOutcome> outcomes;
  for (const auto& shard : *shards_) {
    std::optional<ActionOutcome> outcome = shard->Ask<ActionOutcome>(
        [action, filter = *filter, options](const ShardView& view, auto reply) mutable {
          ApplyQueueAction(view, action, filter, options, std::move(reply));
        });
    if (!outcome.has_value()) return Unavailable(shard->id());
    outcomes.push_back(*std::move(outcome));
  }
  if (Text(params)) return {200, kText, ActionText(action, outcomes)};
  return {200, kJson, ActionJson(action, outcomes)};
}

net::HttpResponse AdminApi::StatusData(const net::QueryParams& params) const {
  std::vector<ShardStatus> shards;
  for (const auto& shard : *shards_) {
    std::optional<ShardStatus> status =
        shard->Ask<ShardStatus>([](const ShardView& view, auto reply) {
          ShardStatus s{.shard = view.shard_id};
          if (view.agent != nullptr) {
            s.destinations = view.agent->Destinations();
            const auto& recent = view.agent->recent_failures();
            s.recent.assign(recent.begin(), recent.end());
          }
          reply(std::move(s));
        });
    if (!status.has_value()) return Unavailable(shard->id());
    shards.push_back(*std::move(status));
  }
  const bool per_shard = net::QueryValue(params, "shards") == "1";
  const absl::Time now = absl::Now();
  std::optional<ShapingReport> shaping;
  if (shaping_.state != nullptr) {
    shaping = CollectShapingReport(*shaping_.state, shaping_.policy_file, {}, now);
  }
  return {200, kJson,
          StatusJson(history_, shards, now, per_shard, shaping.has_value() ? &*shaping : nullptr)};
}

net::HttpResponse AdminApi::Stats(const net::QueryParams& params) const {
  std::vector<ShardStats> stats;
  for (const auto& shard : *shards_) {
    std::optional<ShardStats> s = shard->Ask<ShardStats>(
        [](const ShardView& view, auto reply) { CollectShardStats(view, std::move(reply)); });
    if (!s.has_value()) return Unavailable(shard->id());
    stats.push_back(*std::move(s));
  }
  const Rates rates = history_.RatesOver(absl::Seconds(60));
  const absl::Time now = absl::Now();
  if (Text(params)) return {200, kText, StatsText(stats, rates, now)};
  return {200, kJson, StatsJson(stats, rates, now)};
}

net::HttpResponse AdminApi::Shaping(const net::QueryParams& params) const {
  if (shaping_.state == nullptr) return {503, kText, "shaping: not available\n"};
  const absl::Time now = absl::Now();
  const ShapingReport report =
      CollectShapingReport(*shaping_.state, shaping_.policy_file,
                           {.domain = net::QueryValue(params, "destination"),
                            .source = net::QueryValue(params, "source")},
                           now);
  if (Text(params)) return {200, kText, ShapingText(report, now)};
  return {200, kJson, ShapingJson(report, now)};
}

net::HttpResponse AdminApi::Suspend(const net::QueryParams& params, bool resume) const {
  if (shaping_.state == nullptr) return {503, kText, "shaping: not available\n"};
  const char* verb = resume ? "resume" : "suspend";
  // Exactly one scope: domain:D, provider:NAME or site:MX1,MX2 (the scope-key vocabulary of
  // queue/shaping_state.h).
  std::string scope;
  int scopes = 0;
  if (const std::string domain = net::QueryValue(params, "domain"); !domain.empty()) {
    ++scopes;
    const std::string name = absl::AsciiStrToLower(absl::StripSuffix(domain, "."));
    if (!ScopeNameOk(name, false)) return {400, kText, "domain: not a domain name\n"};
    scope = queue::DomainScope(name);
  }
  if (const std::string provider = net::QueryValue(params, "provider"); !provider.empty()) {
    ++scopes;
    if (shaping_.state->policy()->FindProvider(provider) == nullptr) {
      return {400, kText,
              absl::StrCat("provider: '", provider, "' is no provider block of the policy\n")};
    }
    scope = queue::ProviderScope(provider);
  }
  if (const std::string site = net::QueryValue(params, "site"); !site.empty()) {
    ++scopes;
    const std::string key = queue::ShapingPolicy::NormalizeSiteKey(site);
    if (!ScopeNameOk(key, true)) return {400, kText, "site: MX host names, comma-separated\n"};
    scope = queue::SiteScope(key);
  }
  if (const std::string route = net::QueryValue(params, "route"); !route.empty()) {
    ++scopes;
    // HOST:PORT as in --route (brackets allowed): the scope a routed lane's rules suspend.
    std::string text = absl::AsciiStrToLower(route);
    text.erase(std::remove(text.begin(), text.end(), '['), text.end());
    text.erase(std::remove(text.begin(), text.end(), ']'), text.end());
    const size_t colon = text.rfind(':');
    uint32_t port = 0;
    if (colon == std::string::npos || !absl::SimpleAtoi(text.substr(colon + 1), &port) ||
        port == 0 || port > 65535 || !ScopeNameOk(text.substr(0, colon), false)) {
      return {400, kText, "route: HOST:PORT, as in --route\n"};
    }
    scope = queue::RouteScope(text.substr(0, colon), static_cast<uint16_t>(port));
  }
  if (scopes != 1) {
    return {400, kText,
            absl::StrCat(verb,
                         ": name one of domain=D, provider=NAME, site=MX1,MX2 or "
                         "route=HOST:PORT\n")};
  }
  if (scope.size() > queue::ShapingOverride::kKeyBytesMax) return {400, kText, "scope: too long\n"};
  const std::string source = net::QueryValue(params, "source");
  if (!source.empty() && !ScopeNameOk(source, false)) {
    return {400, kText, "source: not an egress source name\n"};
  }
  const std::string who = absl::StrCat(scope, " (source ", source.empty() ? "every" : source, ")");
  // Resume takes any source: an entry may outlive its source's --egress_source.
  if (!resume && !source.empty() && shaping_.egress != nullptr &&
      shaping_.egress->Get()->FindSource(source) == nullptr) {
    return {400, kText, absl::StrCat("source: '", source, "' is no --egress_source\n")};
  }
  if (resume) {
    const bool resumed = shaping_.state->overrides().Resume(source, scope);
    TERN_LOG(kInfo, "admin: resume %s: %s", who, resumed ? "resumed" : "nothing to resume");
    return {
        200, kText,
        absl::StrCat(who, resumed ? ": resumed\n" : ": was neither suspended nor overridden\n")};
  }
  // Seconds (ternctl converts "30m"); up to a year.
  static constexpr int64_t kSuspendSecondsMax = int64_t{366} * 86400;
  int64_t seconds = 0;
  if (!absl::SimpleAtoi(net::QueryValue(params, "duration"), &seconds) || seconds <= 0 ||
      seconds > kSuspendSecondsMax) {
    return {400, kText, "duration: a number of seconds, 1 to 366 days\n"};
  }
  absl::StatusOr<std::string> reason = BounceReason(params);
  if (!reason.ok()) return {400, kText, absl::StrCat(reason.status().message(), "\n")};
  if (reason->empty()) return {400, kText, "reason: say why (one line)\n"};
  const absl::Time until = absl::Now() + absl::Seconds(seconds);
  absl::Status suspended =
      shaping_.state->overrides().Suspend(source, scope, until, *reason, "ternctl");
  if (!suspended.ok()) return {503, kText, absl::StrCat(suspended.message(), "\n")};
  TERN_LOG(kInfo, "admin: suspend %s until %s: %s", who, FormatUtcSeconds(until), *reason);
  return {200, kText, absl::StrCat(who, ": suspended until ", FormatUtcSeconds(until), "\n")};
}

}  // namespace tern::tools::ternd
