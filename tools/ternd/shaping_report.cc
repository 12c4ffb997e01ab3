// Implementation of tools/ternd/shaping_report.h.
#include "tools/ternd/shaping_report.h"

#include <algorithm>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/json_writer.h"
#include "tools/ternd/queue_report.h"

namespace tern::tools::ternd {
namespace {

using queue::RateSpec;
using queue::ShapingOptions;
using queue::ShapingOverride;
using queue::ShapingPolicy;

// The limits the policy gives a throttle key ("provider:google@ip2", "domain:d@",
// "site:mx1,mx2@ip1", "source:ip2"): provider and source blocks as written (their shared
// scopes), a lane's key resolved for its domain or site.
ShapingOptions LimitsForKey(const ShapingPolicy& policy, absl::string_view key) {
  absl::string_view scope = key;
  absl::string_view source;
  if (absl::ConsumePrefix(&scope, "source:")) {
    const queue::SourceBlock* block = policy.FindSource(scope);
    return block != nullptr ? block->options : ShapingOptions{};
  }
  if (const size_t at = scope.rfind('@'); at != absl::string_view::npos) {
    source = scope.substr(at + 1);
    scope = scope.substr(0, at);
  }
  if (absl::ConsumePrefix(&scope, "provider:")) {
    const queue::ProviderBlock* provider = policy.FindProvider(scope);
    return provider != nullptr ? provider->options : ShapingOptions{};
  }
  absl::string_view domain;
  std::string site_key;
  std::vector<std::string> hosts;
  if (absl::ConsumePrefix(&scope, "domain:")) {
    domain = scope;
  } else if (absl::ConsumePrefix(&scope, "site:")) {
    site_key = std::string(scope);
    hosts = absl::StrSplit(scope, ',', absl::SkipEmpty());
  }
  return policy
      .Resolve({.domain = domain, .site_key = site_key, .mx_hosts = hosts, .source = source})
      .lane;
}

ThrottleRow ReadThrottle(const queue::ScopeThrottle& throttle, const ShapingPolicy& policy,
                         absl::Time now) {
  ThrottleRow row{.key = throttle.key};
  const ShapingOptions limits = LimitsForKey(policy, throttle.key);
  row.message_rate = limits.max_message_rate;
  if (row.message_rate.has_value()) {
    row.message_tokens = throttle.message_rate.Available(now, *row.message_rate);
    row.message_wait = throttle.message_rate.Check(now, *row.message_rate);
  }
  row.connection_rate = limits.max_connection_rate;
  if (row.connection_rate.has_value()) {
    row.connection_tokens = throttle.connection_rate.Available(now, *row.connection_rate);
    row.connection_wait = throttle.connection_rate.Check(now, *row.connection_rate);
  }
  row.open_connections = throttle.connections.open();
  row.connection_limit = limits.connection_limit;
  return row;
}

std::string ActionText(const queue::AutomationAction& action) {
  switch (action.kind) {
    case queue::AutomationAction::Kind::kSuspend:
      return absl::StrCat("suspend ", ShortDuration(action.duration));
    case queue::AutomationAction::Kind::kSet: {
      std::vector<std::string> set;
      for (const auto& [name, value] : OptionRows(action.options)) {
        set.push_back(absl::StrCat(name, "=", value));
      }
      return absl::StrCat("set {", absl::StrJoin(set, ", "), "} for ",
                          ShortDuration(action.duration));
    }
    case queue::AutomationAction::Kind::kBounce:
      return "bounce";
  }
  return "?";
}

std::string RuleText(const queue::AutomationRuleSpec& rule) {
  std::vector<std::string> actions;
  for (const queue::AutomationAction& action : rule.actions) actions.push_back(ActionText(action));
  std::string text = absl::StrCat(rule.origin, ": regex ['", absl::StrJoin(rule.regex, "', '"),
                                  "'] -> ", absl::StrJoin(actions, ", "));
  if (rule.threshold.has_value()) {
    absl::StrAppend(&text, ", threshold ", rule.threshold->ToString());
  }
  if (rule.match_internal) absl::StrAppend(&text, ", match_internal");
  if (rule.ramp_up.has_value()) {
    absl::StrAppend(&text, ", ramp_up ", rule.ramp_up->steps, " steps over ",
                    ShortDuration(rule.ramp_up->over));
  }
  return text;
}

std::string TimeLeft(absl::Time until, absl::Time now) {
  return until > now ? ShortDuration(until - now) : "0s";
}

// The ramp step in force (1..steps) once the override has ended and until its ramp is
// over; 0 before it ended or without a ramp.
uint32_t RampStepNow(const ShapingOverride& entry, absl::Time now) {
  if (!entry.ramp_up.has_value() || now < entry.until || now >= entry.end()) return 0;
  return entry.ramp_up->StepAt(now - entry.until);
}

std::string RampText(const ShapingOverride& entry, absl::Time now) {
  if (!entry.ramp_up.has_value()) return "-";
  std::string text =
      absl::StrCat(entry.ramp_up->steps, " steps over ", ShortDuration(entry.ramp_up->over));
  if (const uint32_t step = RampStepNow(entry, now); step > 0) {
    absl::StrAppend(&text, ", ramping up: step ", step, "/", entry.ramp_up->steps);
  }
  return text;
}

std::string RateText(const std::optional<RateSpec>& rate) {
  return rate.has_value() ? rate->ToString() : "-";
}

std::string OrDash(absl::string_view text) { return text.empty() ? "-" : std::string(text); }

void AppendOverridesText(const std::vector<ShapingOverride>& entries, absl::Time now,
                         std::string* out) {
  absl::StrAppendFormat(out, "%-36s %-10s %-8s %-20s %-8s %-16s %-12s %s\n", "SCOPE", "SOURCE",
                        "KIND", "UNTIL", "LEFT", "CAUSE", "RAMP", "REASON");
  for (const ShapingOverride& e : entries) {
    absl::StrAppendFormat(out, "%-36s %-10s %-8s %-20s %-8s %-16s %-12s %s\n", e.scope,
                          e.source.empty() ? "*" : e.source, queue::KindName(e.kind),
                          FormatUtcSeconds(e.until), TimeLeft(e.until, now), OrDash(e.cause),
                          RampText(e, now), OrDash(e.reason));
  }
}

void AppendOverrideJson(const ShapingOverride& e, absl::Time now, core::JsonWriter* json) {
  json->BeginObject();
  json->Key("scope");
  json->String(e.scope);
  json->Key("source");
  json->String(e.source);
  json->Key("kind");
  json->String(queue::KindName(e.kind));
  json->Key("until");
  json->String(FormatUtcSeconds(e.until));
  json->Key("seconds_left");
  json->Number(e.until > now ? absl::ToInt64Seconds(e.until - now) : int64_t{0});
  json->Key("reason");
  json->String(e.reason);
  json->Key("cause");
  json->String(e.cause);
  if (e.kind == ShapingOverride::Kind::kSet) {
    json->Key("options");
    json->BeginObject();
    for (const auto& [name, value] : OptionRows(e.options)) {
      json->Key(name);
      json->String(value);
    }
    json->EndObject();
  }
  if (e.ramp_up.has_value()) {
    json->Key("ramp_up");
    json->BeginObject();
    json->Key("steps");
    json->Number(uint64_t{e.ramp_up->steps});
    json->Key("over_seconds");
    json->Number(absl::ToInt64Seconds(e.ramp_up->over));
    json->Key("step_now");  // 0: not ramping (the override runs, or the ramp is over)
    json->Number(uint64_t{RampStepNow(e, now)});
    json->EndObject();
  }
  json->EndObject();
}

void AppendOptionalRate(absl::string_view key, const std::optional<RateSpec>& rate,
                        core::JsonWriter* json) {
  json->Key(key);
  if (rate.has_value()) {
    json->String(rate->ToString());
  } else {
    json->Raw("null");
  }
}

}  // namespace

std::vector<std::pair<std::string, std::string>> OptionRows(const ShapingOptions& o) {
  std::vector<std::pair<std::string, std::string>> rows;
  auto number = [&](const char* name, const std::optional<uint32_t>& v) {
    if (v.has_value()) rows.emplace_back(name, absl::StrCat(*v));
  };
  auto rate = [&](const char* name, const std::optional<RateSpec>& v) {
    if (v.has_value()) rows.emplace_back(name, v->ToString());
  };
  auto duration = [&](const char* name, const std::optional<absl::Duration>& v) {
    if (v.has_value()) rows.emplace_back(name, ShortDuration(*v));
  };
  number("connection_limit", o.connection_limit);
  rate("max_message_rate", o.max_message_rate);
  rate("max_connection_rate", o.max_connection_rate);
  number("max_deliveries_per_connection", o.max_deliveries_per_connection);
  if (o.retry_schedule.has_value()) rows.emplace_back("retry_schedule", *o.retry_schedule);
  duration("max_queue_lifetime", o.max_queue_lifetime);
  number("consecutive_connection_failures_before_delay",
         o.consecutive_connection_failures_before_delay);
  duration("connection_failure_delay", o.connection_failure_delay);
  duration("connection_failure_delay_max", o.connection_failure_delay_max);
  return rows;
}

ShapingReport CollectShapingReport(queue::ShapingState& state, const std::string& policy_file,
                                   const DestinationQuery& query, absl::Time now) {
  ShapingReport report;
  const std::shared_ptr<const ShapingPolicy> policy = state.policy();
  report.policy_file = policy_file;
  report.policy_blocks = policy->block_count();
  report.overrides = state.overrides().List(now);
  if (report.overrides.size() > kShapingRowsMax) {
    report.overrides_omitted = report.overrides.size() - kShapingRowsMax;
    report.overrides.resize(kShapingRowsMax);
  }
  report.troubled_sites = state.site_health().Troubled();
  if (report.troubled_sites.size() > kShapingRowsMax) {
    report.troubled_sites_omitted = report.troubled_sites.size() - kShapingRowsMax;
    report.troubled_sites.resize(kShapingRowsMax);
  }
  const std::vector<std::shared_ptr<queue::ScopeThrottle>> throttles = state.throttles().Snapshot();
  for (const auto& throttle : throttles) {
    if (report.throttles.size() == kShapingRowsMax) {
      report.throttles_omitted = throttles.size() - kShapingRowsMax;
      break;
    }
    report.throttles.push_back(ReadThrottle(*throttle, *policy, now));
  }
  if (!query.domain.empty()) {
    DestinationShaping d;
    d.domain = absl::AsciiStrToLower(absl::StripSuffix(query.domain, "."));
    d.source = query.source;
    const queue::ResolvedShaping resolved =
        policy->Resolve({.domain = d.domain, .site_key = "", .mx_hosts = {}, .source = d.source});
    d.lane = resolved.lane;
    d.shared = resolved.shared;
    d.provider = resolved.provider_name;
    d.own_site = resolved.own_site;
    for (const queue::AutomationRuleSpec* rule : resolved.rules) d.rules.push_back(RuleText(*rule));
    const std::string domain_scope = queue::DomainScope(d.domain);
    const std::string provider_scope = d.provider.empty() ? "" : queue::ProviderScope(d.provider);
    for (const ShapingOverride& entry : state.overrides().List(now)) {
      if (entry.scope == domain_scope ||
          (!provider_scope.empty() && entry.scope == provider_scope)) {
        d.overrides.push_back(entry);
      }
    }
    report.destination = std::move(d);
  }
  return report;
}

std::string ShapingText(const ShapingReport& report, absl::Time now) {
  std::string out;
  absl::StrAppendFormat(
      &out, "%-22s %s\n", "policy",
      report.policy_file.empty() ? "(built-in defaults, no --shaping)" : report.policy_file);
  absl::StrAppendFormat(&out, "%-22s %d\n", "blocks", report.policy_blocks);
  absl::StrAppendFormat(&out, "%-22s %d\n", "suspensions/overrides",
                        report.overrides.size() + report.overrides_omitted);

  if (report.destination.has_value()) {
    const DestinationShaping& d = *report.destination;
    absl::StrAppendFormat(&out,
                          "\nDESTINATION %s (source %s; by the domain alone, no MX lookup: site "
                          "and MX-suffix provider blocks are not applied)\n",
                          d.domain, d.source.empty() ? "\"\"" : d.source);
    absl::StrAppendFormat(&out, "  %-46s %s\n", "provider", OrDash(d.provider));
    absl::StrAppendFormat(&out, "  %-46s %s\n", "own_site", d.own_site ? "yes" : "no");
    for (const auto& [name, value] : OptionRows(d.lane)) {
      absl::StrAppendFormat(&out, "  %-46s %s\n", name, value);
    }
    for (const queue::ThrottleScope& scope : d.shared) {
      absl::StrAppendFormat(
          &out, "  shared %-39s connection_limit=%s max_message_rate=%s max_connection_rate=%s\n",
          scope.key,
          scope.connection_limit.has_value() ? absl::StrCat(*scope.connection_limit) : "-",
          RateText(scope.max_message_rate), RateText(scope.max_connection_rate));
    }
    for (const std::string& rule : d.rules) absl::StrAppendFormat(&out, "  rule %s\n", rule);
    if (!d.overrides.empty()) {
      out += "\n";
      AppendOverridesText(d.overrides, now, &out);
    }
  }

  if (!report.overrides.empty()) {
    out += "\nSUSPENSIONS AND OVERRIDES\n";
    AppendOverridesText(report.overrides, now, &out);
    if (report.overrides_omitted > 0) {
      absl::StrAppendFormat(&out, "(%d more not shown)\n", report.overrides_omitted);
    }
  }
  if (!report.troubled_sites.empty()) {
    absl::StrAppendFormat(&out, "\n%-40s %-20s %8s %8s  %s\n", "TROUBLED SITE", "DELAYED UNTIL",
                          "FAILURES", "DELAYS", "LAST FAILURE");
    for (const queue::SiteHealth::Snapshot& s : report.troubled_sites) {
      const bool delayed = s.delayed && s.delayed_until > now;
      absl::StrAppendFormat(&out, "%-40s %-20s %8d %8d  %s\n", s.key,
                            delayed ? FormatUtcSeconds(s.delayed_until) : "-",
                            s.consecutive_failures, s.delays, OrDash(s.last_failure));
    }
    if (report.troubled_sites_omitted > 0) {
      absl::StrAppendFormat(&out, "(%d more not shown)\n", report.troubled_sites_omitted);
    }
  }
  if (!report.throttles.empty()) {
    absl::StrAppendFormat(&out, "\n%-40s %-18s %8s %8s %-18s %8s %8s %11s\n", "THROTTLE SCOPE",
                          "MESSAGE RATE", "TOKENS", "WAIT", "CONNECTION RATE", "TOKENS", "WAIT",
                          "OPEN/LIMIT");
    for (const ThrottleRow& t : report.throttles) {
      absl::StrAppendFormat(
          &out, "%-40s %-18s %8s %8s %-18s %8s %8s %11s\n", t.key, RateText(t.message_rate),
          t.message_rate.has_value() ? absl::StrCat(t.message_tokens) : "-",
          t.message_rate.has_value() ? ShortDuration(t.message_wait) : "-",
          RateText(t.connection_rate),
          t.connection_rate.has_value() ? absl::StrCat(t.connection_tokens) : "-",
          t.connection_rate.has_value() ? ShortDuration(t.connection_wait) : "-",
          absl::StrCat(t.open_connections, "/",
                       t.connection_limit.has_value() ? absl::StrCat(*t.connection_limit) : "-"));
    }
    if (report.throttles_omitted > 0) {
      absl::StrAppendFormat(&out, "(%d more not shown)\n", report.throttles_omitted);
    }
  }
  return out;
}

std::string ShapingJson(const ShapingReport& report, absl::Time now) {
  std::string out;
  core::JsonWriter json(&out);
  json.BeginObject();
  json.Key("policy_file");
  json.String(report.policy_file);
  json.Key("policy_blocks");
  json.Number(uint64_t{report.policy_blocks});
  json.Key("overrides");
  json.BeginArray();
  for (const ShapingOverride& e : report.overrides) AppendOverrideJson(e, now, &json);
  json.EndArray();
  json.Key("overrides_omitted");
  json.Number(uint64_t{report.overrides_omitted});
  json.Key("troubled_sites");
  json.BeginArray();
  for (const queue::SiteHealth::Snapshot& s : report.troubled_sites) {
    json.BeginObject();
    json.Key("site");
    json.String(s.key);
    const bool delayed = s.delayed && s.delayed_until > now;
    json.Key("delayed");
    json.Bool(delayed);
    json.Key("delayed_until");
    if (delayed) {
      json.String(FormatUtcSeconds(s.delayed_until));
    } else {
      json.Raw("null");
    }
    json.Key("consecutive_failures");
    json.Number(uint64_t{s.consecutive_failures});
    json.Key("delays");
    json.Number(s.delays);
    json.Key("last_failure");
    json.String(s.last_failure);
    json.EndObject();
  }
  json.EndArray();
  json.Key("troubled_sites_omitted");
  json.Number(uint64_t{report.troubled_sites_omitted});
  json.Key("throttles");
  json.BeginArray();
  for (const ThrottleRow& t : report.throttles) {
    json.BeginObject();
    json.Key("scope");
    json.String(t.key);
    AppendOptionalRate("max_message_rate", t.message_rate, &json);
    json.Key("message_tokens");
    json.Number(t.message_tokens);
    json.Key("message_wait_ms");
    json.Number(absl::ToInt64Milliseconds(t.message_wait));
    AppendOptionalRate("max_connection_rate", t.connection_rate, &json);
    json.Key("connection_tokens");
    json.Number(t.connection_tokens);
    json.Key("connection_wait_ms");
    json.Number(absl::ToInt64Milliseconds(t.connection_wait));
    json.Key("open_connections");
    json.Number(uint64_t{t.open_connections});
    json.Key("connection_limit");
    if (t.connection_limit.has_value()) {
      json.Number(uint64_t{*t.connection_limit});
    } else {
      json.Raw("null");
    }
    json.EndObject();
  }
  json.EndArray();
  json.Key("throttles_omitted");
  json.Number(uint64_t{report.throttles_omitted});
  if (report.destination.has_value()) {
    const DestinationShaping& d = *report.destination;
    json.Key("destination");
    json.BeginObject();
    json.Key("domain");
    json.String(d.domain);
    json.Key("source");
    json.String(d.source);
    json.Key("mx_lookup");
    json.Bool(false);
    json.Key("provider");
    json.String(d.provider);
    json.Key("own_site");
    json.Bool(d.own_site);
    json.Key("lane");
    json.BeginObject();
    for (const auto& [name, value] : OptionRows(d.lane)) {
      json.Key(name);
      json.String(value);
    }
    json.EndObject();
    json.Key("shared");
    json.BeginArray();
    for (const queue::ThrottleScope& scope : d.shared) {
      json.BeginObject();
      json.Key("key");
      json.String(scope.key);
      json.Key("connection_limit");
      if (scope.connection_limit.has_value()) {
        json.Number(uint64_t{*scope.connection_limit});
      } else {
        json.Raw("null");
      }
      AppendOptionalRate("max_message_rate", scope.max_message_rate, &json);
      AppendOptionalRate("max_connection_rate", scope.max_connection_rate, &json);
      json.EndObject();
    }
    json.EndArray();
    json.Key("rules");
    json.BeginArray();
    for (const std::string& rule : d.rules) json.String(rule);
    json.EndArray();
    json.Key("overrides");
    json.BeginArray();
    for (const ShapingOverride& e : d.overrides) AppendOverrideJson(e, now, &json);
    json.EndArray();
    json.EndObject();
  }
  json.EndObject();
  out += "\n";
  return out;
}

}  // namespace tern::tools::ternd
