// Implementation of queue/shaping_policy_file.h: TOML (toml++, header-only, without
// exceptions) → ShapingPolicy, collecting every problem with its line.
#include "queue/shaping_policy_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/duration_text.h"
#include "core/toml_input.h"
#include "queue/retry_schedule.h"
#include "re2/re2.h"

namespace tern::queue {
namespace {

constexpr size_t kNameBytesMax = 253;
constexpr size_t kRegexBytesMax = 1024;
constexpr size_t kKeyBytesShownMax = 80;
// Long enough for any retry schedule; the lifetime itself is checked on its own.
constexpr absl::Duration kRetryCheckLifetime = absl::Hours(24 * 3650);

// A key as TOML would write it: bare when it can be, else quoted.
std::string KeyText(absl::string_view key) {
  absl::string_view shown = key.substr(0, kKeyBytesShownMax);
  const bool bare = !shown.empty() && std::all_of(shown.begin(), shown.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  std::string text = bare ? std::string(shown) : absl::StrCat("\"", shown, "\"");
  if (shown.size() < key.size()) text += "...";
  return text;
}

std::string Join(absl::string_view path, absl::string_view key) {
  return path.empty() ? KeyText(key) : absl::StrCat(path, ".", KeyText(key));
}

uint32_t LineOf(const toml::source_region& region) { return region.begin.line; }

// toml++ speaks std::string_view; Debian's abseil has its own string_view.
absl::string_view Name(const toml::key& key) {
  const std::string_view name = key.str();
  return absl::string_view(name.data(), name.size());
}

// A host or domain name as the policy may name it: lowercase letters, digits, '-', '_',
// dots between non-empty labels. Returns the lowercase form without a trailing dot, or ""
// when it is not one.
std::string NormalizedName(absl::string_view name) {
  absl::ConsumeSuffix(&name, ".");
  if (name.empty() || name.size() > kNameBytesMax) return "";
  for (absl::string_view label : absl::StrSplit(name, '.')) {
    if (label.empty() || label.size() > 63) return "";
    for (char c : label) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return "";
    }
  }
  return absl::AsciiStrToLower(name);
}

bool IsSourceName(absl::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

class PolicyReader {
 public:
  explicit PolicyReader(absl::string_view file_name) : file_name_(file_name) {}

  absl::StatusOr<ShapingPolicy> Read(absl::string_view text) {
    absl::StatusOr<toml::table> top = core::ParseTomlText(text, file_name_, kShapingPolicyBytesMax);
    if (!top.ok()) return top.status();
    ReadTop(*top);
    if (problems_.empty()) return std::move(policy_);
    return problems_.ToStatus();
  }

 private:
  void Problem(uint32_t line, absl::string_view key_path, absl::string_view what) {
    problems_.Add(line, absl::StrCat(file_name_, ":", line, ": ", key_path, ": ", what));
  }
  PolicyOrigin Origin(uint32_t line) const { return absl::StrCat(file_name_, ":", line); }

  // False (with a problem, once) when the file has more blocks than kBlocksMax.
  bool CountBlock(uint32_t line, absl::string_view key_path) {
    if (++blocks_ <= ShapingPolicy::kBlocksMax) return true;
    if (blocks_ == ShapingPolicy::kBlocksMax + 1) {
      Problem(line, key_path,
              absl::StrCat("more than ", ShapingPolicy::kBlocksMax, " blocks and rules"));
    }
    return false;
  }

  const toml::table* TableOrProblem(const toml::key& key, const toml::node& node,
                                    absl::string_view path) {
    const toml::table* table = node.as_table();
    if (table == nullptr) Problem(LineOf(key.source()), path, "must be a table");
    return table;
  }

  void ReadTop(const toml::table& top) {
    for (auto&& [key, node] : top) {
      const absl::string_view name = Name(key);
      const toml::table* table = TableOrProblem(key, node, KeyText(name));
      if (table == nullptr) continue;
      if (name == "default") {
        if (CountBlock(LineOf(key.source()), "default")) {
          DestinationBlock& block = policy_.mutable_default_block();
          block.origin = Origin(LineOf(key.source()));
          ReadDestination(*table, "default", AutomationRuleSpec::Scope::kDefault, "", block);
        }
      } else if (name == "provider") {
        ReadProviders(*table);
      } else if (name == "site") {
        ReadSites(*table);
      } else if (name == "domain") {
        ReadDomains(*table);
      } else if (name == "source") {
        ReadSources(*table);
      } else {
        Problem(LineOf(key.source()), KeyText(name),
                "unknown table (known: default, provider, site, domain, source)");
      }
    }
  }

  void ReadProviders(const toml::table& providers) {
    // toml++ keeps keys sorted; "first provider wins" means first in the file.
    std::vector<std::pair<const toml::key*, const toml::node*>> in_file_order;
    for (auto&& [key, node] : providers) in_file_order.emplace_back(&key, &node);
    std::sort(in_file_order.begin(), in_file_order.end(), [](const auto& a, const auto& b) {
      const auto& pa = a.first->source().begin;
      const auto& pb = b.first->source().begin;
      return std::pair(pa.line, pa.column) < std::pair(pb.line, pb.column);
    });
    for (const auto& [key, node] : in_file_order) {
      const std::string path = Join("provider", Name(*key));
      const uint32_t line = LineOf(key->source());
      const toml::table* table = TableOrProblem(*key, *node, path);
      if (table == nullptr || !CountBlock(line, path)) continue;
      ProviderBlock provider;
      provider.name = std::string(Name(*key));
      provider.origin = Origin(line);
      if (!IsSourceName(provider.name)) {
        Problem(line, path, "a provider name is letters, digits, '_', '-' and '.'");
      }
      bool has_match = false;
      for (auto&& [field, value] : *table) {
        const std::string field_path = Join(path, Name(field));
        if (Name(field) == "match") {
          has_match = true;
          ReadMatchList(field, value, field_path, provider.match);
        } else if (Name(field) == "automation") {
          ReadRules(field, value, field_path, AutomationRuleSpec::Scope::kProvider, provider.name,
                    provider.automation);
        } else if (!ReadOption(field, value, field_path, provider.options)) {
          Problem(LineOf(field.source()), field_path, UnknownKey("provider", true));
        }
      }
      if (!has_match) {
        Problem(line, path,
                "unknown provider: no match = [...] list (a provider needs at least one "
                "{ mx_suffix = \"...\" } or { domain_suffix = \"...\" })");
      }
      if (!policy_.AddProvider(std::move(provider))) Problem(line, path, "defined twice");
    }
  }

  void ReadMatchList(const toml::key& key, const toml::node& value, const std::string& path,
                     std::vector<ProviderMatch>& into) {
    const toml::array* list = value.as_array();
    if (list == nullptr) {
      Problem(LineOf(key.source()), path, "must be a list: [{ mx_suffix = \".example.com\" }]");
      return;
    }
    if (list->empty()) Problem(LineOf(key.source()), path, "empty match list");
    for (const toml::node& entry : *list) {
      const uint32_t line = LineOf(entry.source());
      const toml::table* table = entry.as_table();
      if (table == nullptr || table->size() != 1) {
        Problem(line, path, "each entry is { mx_suffix = \"...\" } or { domain_suffix = \"...\" }");
        continue;
      }
      for (auto&& [kind_key, suffix_node] : *table) {  // exactly one
        const std::string entry_path = Join(path, Name(kind_key));
        ProviderMatch match;
        if (Name(kind_key) == "mx_suffix") {
          match.kind = ProviderMatch::Kind::kMxSuffix;
        } else if (Name(kind_key) == "domain_suffix") {
          match.kind = ProviderMatch::Kind::kDomainSuffix;
        } else {
          Problem(line, entry_path, "unknown key (known: mx_suffix, domain_suffix)");
          continue;
        }
        const auto* suffix = suffix_node.as_string();
        absl::string_view text = suffix == nullptr ? absl::string_view() : suffix->get();
        absl::ConsumePrefix(&text, ".");
        match.suffix = NormalizedName(text);
        if (match.suffix.empty()) {
          Problem(line, entry_path, "must be a domain name suffix such as \".example.com\"");
          continue;
        }
        into.push_back(std::move(match));
      }
    }
  }

  void ReadSites(const toml::table& sites) {
    for (auto&& [key, node] : sites) {
      const std::string path = Join("site", Name(key));
      const uint32_t line = LineOf(key.source());
      const toml::table* table = TableOrProblem(key, node, path);
      if (table == nullptr || !CountBlock(line, path)) continue;
      std::string site_key = ShapingPolicy::NormalizeSiteKey(Name(key));
      bool names_ok = !site_key.empty();
      for (absl::string_view host : absl::StrSplit(site_key, ',')) {
        names_ok = names_ok && !NormalizedName(host).empty();
      }
      if (!names_ok) {
        Problem(line, path, "a site is MX host names joined by \",\" (\"mx1.example.net,...\")");
        continue;
      }
      DestinationBlock block;
      block.origin = Origin(line);
      ReadDestination(*table, path, AutomationRuleSpec::Scope::kSite, site_key, block);
      if (!policy_.AddSite(std::move(site_key), std::move(block))) {
        Problem(line, path, "the same MX set is named twice");
      }
    }
  }

  void ReadDomains(const toml::table& domains) {
    for (auto&& [key, node] : domains) {
      const std::string path = Join("domain", Name(key));
      const uint32_t line = LineOf(key.source());
      const toml::table* table = TableOrProblem(key, node, path);
      if (table == nullptr) continue;
      std::string domain = NormalizedName(Name(key));
      if (domain.empty()) {
        Problem(line, path, "not a domain name");
        continue;
      }
      // [domain."D".source.X] alone does not make a [domain."D"] block.
      const bool only_sources = table->size() == 1 && table->contains("source");
      if (!only_sources) {
        if (!CountBlock(line, path)) continue;
        DestinationBlock block;
        block.origin = Origin(line);
        ReadDestination(*table, path, AutomationRuleSpec::Scope::kDomain, domain, block);
        if (!policy_.AddDomain(domain, std::move(block))) {
          Problem(line, path, "the same domain is named twice (names are not case sensitive)");
        }
      }
      if (const toml::node* sources = table->get("source"); sources != nullptr) {
        const toml::table* sources_table = sources->as_table();
        if (sources_table == nullptr) {
          Problem(line, Join(path, "source"), "must be a table of [domain.\"D\".source.NAME]");
          continue;
        }
        for (auto&& [source_key, source_node] : *sources_table) {
          const std::string source_path = Join(Join(path, "source"), Name(source_key));
          SourceBlock block;
          if (!ReadSourceBlock(source_key, source_node, source_path, block)) continue;
          if (!policy_.AddDomainSource(domain, std::string(Name(source_key)), std::move(block))) {
            Problem(LineOf(source_key.source()), source_path, "named twice");
          }
        }
      }
    }
  }

  void ReadSources(const toml::table& sources) {
    for (auto&& [key, node] : sources) {
      const std::string path = Join("source", Name(key));
      SourceBlock block;
      if (!ReadSourceBlock(key, node, path, block)) continue;
      policy_.AddSource(std::string(Name(key)), std::move(block));
    }
  }

  bool ReadSourceBlock(const toml::key& key, const toml::node& node, const std::string& path,
                       SourceBlock& block) {
    const uint32_t line = LineOf(key.source());
    const toml::table* table = TableOrProblem(key, node, path);
    if (table == nullptr || !CountBlock(line, path)) return false;
    if (!IsSourceName(Name(key))) {
      Problem(line, path, "a source name is letters, digits, '_', '-' and '.'");
      return false;
    }
    block.origin = Origin(line);
    for (auto&& [field, value] : *table) {
      const std::string field_path = Join(path, Name(field));
      if (!ReadOption(field, value, field_path, block.options)) {
        Problem(LineOf(field.source()), field_path, UnknownKey("source", false));
      }
    }
    return true;
  }

  // [default], [site."K"], [domain."D"]: options, automation and (domain only) source.
  void ReadDestination(const toml::table& table, absl::string_view path,
                       AutomationRuleSpec::Scope scope, absl::string_view scope_name,
                       DestinationBlock& block) {
    for (auto&& [field, value] : table) {
      const std::string field_path = Join(path, Name(field));
      if (Name(field) == "automation") {
        ReadRules(field, value, field_path, scope, scope_name, block.automation);
      } else if (Name(field) == "source" && scope == AutomationRuleSpec::Scope::kDomain) {
        continue;  // ReadDomains reads it
      } else if (!ReadOption(field, value, field_path, block.options)) {
        Problem(LineOf(field.source()), field_path,
                UnknownKey(scope == AutomationRuleSpec::Scope::kDomain ? "domain" : "block", true));
      }
    }
  }

  static std::string UnknownKey(absl::string_view block, bool with_automation) {
    std::string known =
        "connection_limit, max_message_rate, max_connection_rate, "
        "max_deliveries_per_connection, retry_schedule, max_queue_lifetime, "
        "consecutive_connection_failures_before_delay, connection_failure_delay, "
        "connection_failure_delay_max";
    if (with_automation) known += ", automation";
    if (block == "provider") known += ", match";
    if (block == "domain") known += ", source";
    return absl::StrCat("unknown key (known: ", known, ")");
  }

  // --- options -------------------------------------------------------------------------

  // False when `key` is not an option name (the caller reports it); true otherwise, with a
  // problem reported when the value is bad.
  bool ReadOption(const toml::key& key, const toml::node& value, const std::string& path,
                  ShapingOptions& into) {
    const absl::string_view name = Name(key);
    const uint32_t line = LineOf(key.source());
    if (name == "connection_limit") {
      ReadCount(line, path, value, 100'000, into.connection_limit);
    } else if (name == "max_message_rate") {
      ReadRate(line, path, value, into.max_message_rate);
    } else if (name == "max_connection_rate") {
      ReadRate(line, path, value, into.max_connection_rate);
    } else if (name == "max_deliveries_per_connection") {
      ReadCount(line, path, value, 1'000'000, into.max_deliveries_per_connection);
    } else if (name == "retry_schedule") {
      const std::optional<absl::string_view> text = StringOrProblem(line, path, value);
      if (!text) return true;
      auto schedule = RetrySchedule::Parse(*text, kRetryCheckLifetime);
      if (!schedule.ok()) {
        Problem(line, path, schedule.status().message());
      } else {
        into.retry_schedule = std::string(*text);
      }
    } else if (name == "max_queue_lifetime") {
      ReadDuration(line, path, value, into.max_queue_lifetime);
    } else if (name == "consecutive_connection_failures_before_delay") {
      ReadCount(line, path, value, 1000, into.consecutive_connection_failures_before_delay);
    } else if (name == "connection_failure_delay") {
      ReadDuration(line, path, value, into.connection_failure_delay);
    } else if (name == "connection_failure_delay_max") {
      ReadDuration(line, path, value, into.connection_failure_delay_max);
    } else {
      return false;
    }
    return true;
  }

  std::optional<absl::string_view> StringOrProblem(uint32_t line, absl::string_view path,
                                                   const toml::node& value) {
    const auto* text = value.as_string();
    if (text == nullptr) {
      Problem(line, path, "must be a string");
      return std::nullopt;
    }
    return absl::string_view(text->get());
  }

  void ReadCount(uint32_t line, absl::string_view path, const toml::node& value, uint32_t max,
                 std::optional<uint32_t>& into) {
    const auto* number = value.as_integer();
    if (number == nullptr || number->get() < 1 || number->get() > max) {
      Problem(line, path, absl::StrCat("must be a whole number from 1 to ", max));
      return;
    }
    into = static_cast<uint32_t>(number->get());
  }

  void ReadRate(uint32_t line, absl::string_view path, const toml::node& value,
                std::optional<RateSpec>& into) {
    const std::optional<absl::string_view> text = StringOrProblem(line, path, value);
    if (!text) return;
    auto rate = RateSpec::Parse(*text);
    if (!rate.ok()) {
      Problem(line, path, rate.status().message());
      return;
    }
    into = *rate;
  }

  bool ReadDuration(uint32_t line, absl::string_view path, const toml::node& value,
                    std::optional<absl::Duration>& into) {
    const std::optional<absl::string_view> text = StringOrProblem(line, path, value);
    if (!text) return false;
    auto duration = core::ParsePositiveDuration(*text);
    if (!duration.ok()) {
      Problem(line, path, duration.status().message());
      return false;
    }
    into = *duration;
    return true;
  }

  // --- automation rules ----------------------------------------------------------------

  void ReadRules(const toml::key& key, const toml::node& value, const std::string& path,
                 AutomationRuleSpec::Scope scope, absl::string_view scope_name,
                 std::vector<AutomationRuleSpec>& into) {
    const toml::array* rules = value.as_array();
    if (rules == nullptr) {
      Problem(LineOf(key.source()), path, "must be a list of rules: [[...automation]]");
      return;
    }
    for (const toml::node& rule_node : *rules) {
      const uint32_t line = LineOf(rule_node.source());
      const toml::table* table = rule_node.as_table();
      if (table == nullptr) {
        Problem(line, path, "each rule is a table: [[...automation]]");
        continue;
      }
      if (!CountBlock(line, path)) return;
      AutomationRuleSpec rule;
      rule.scope = scope;
      rule.scope_name = std::string(scope_name);
      rule.origin = Origin(line);
      if (ReadRule(*table, line, path, rule)) into.push_back(std::move(rule));
    }
  }

  bool ReadRule(const toml::table& table, uint32_t line, const std::string& path,
                AutomationRuleSpec& rule) {
    const size_t problems_before = problems_.count();
    bool has_regex = false;
    bool has_action = false;
    for (auto&& [field, value] : table) {
      const std::string field_path = Join(path, Name(field));
      const uint32_t field_line = LineOf(field.source());
      if (Name(field) == "regex") {
        has_regex = true;
        ReadRegexes(field_line, field_path, value, rule.regex);
      } else if (Name(field) == "action") {
        has_action = true;
        ReadActions(field_line, field_path, value, rule.actions);
      } else if (Name(field) == "trigger") {
        ReadTrigger(field_line, field_path, value, rule.threshold);
      } else if (Name(field) == "match_internal") {
        const auto* flag = value.as_boolean();
        if (flag == nullptr) {
          Problem(field_line, field_path, "must be true or false");
        } else {
          rule.match_internal = flag->get();
        }
      } else if (Name(field) == "ramp_up") {
        ReadRampUp(field_line, field_path, value, rule.ramp_up);
      } else {
        Problem(field_line, field_path,
                "unknown key (known: regex, action, trigger, match_internal, ramp_up)");
      }
    }
    if (!has_regex) Problem(line, path, "a rule needs regex = [...]");
    if (!has_action) Problem(line, path, "a rule needs action = [...]");
    return problems_.count() == problems_before;
  }

  void ReadRegexes(uint32_t line, const std::string& path, const toml::node& value,
                   std::vector<std::string>& into) {
    std::vector<const toml::node*> items;
    if (const toml::array* list = value.as_array(); list != nullptr) {
      for (const toml::node& item : *list) items.push_back(&item);
    } else {
      items.push_back(&value);
    }
    if (items.empty() || items.size() > AutomationRuleSpec::kRegexesMax) {
      Problem(line, path, absl::StrCat("needs 1 to ", AutomationRuleSpec::kRegexesMax, " regexes"));
      return;
    }
    for (const toml::node* item : items) {
      const auto* text = item->as_string();
      if (text == nullptr) {
        Problem(line, path, "each regex is a string (RE2 syntax; '...' needs no escaping)");
        continue;
      }
      const std::string& pattern = text->get();
      if (pattern.empty() || pattern.size() > kRegexBytesMax) {
        Problem(line, path, absl::StrCat("a regex is 1 to ", kRegexBytesMax, " bytes"));
        continue;
      }
      RE2::Options options;
      options.set_log_errors(false);
      const RE2 compiled(pattern, options);
      if (!compiled.ok()) {
        Problem(line, path, absl::StrCat("bad regex '", pattern, "': ", compiled.error()));
        continue;
      }
      into.push_back(pattern);
    }
  }

  void ReadActions(uint32_t line, const std::string& path, const toml::node& value,
                   std::vector<AutomationAction>& into) {
    std::vector<const toml::node*> items;
    if (const toml::array* list = value.as_array(); list != nullptr) {
      for (const toml::node& item : *list) items.push_back(&item);
    } else {
      items.push_back(&value);
    }
    if (items.empty() || items.size() > AutomationRuleSpec::kActionsMax) {
      Problem(line, path, absl::StrCat("needs 1 to ", AutomationRuleSpec::kActionsMax, " actions"));
      return;
    }
    for (const toml::node* item : items) {
      AutomationAction action;
      if (ReadAction(line, path, *item, action)) into.push_back(std::move(action));
    }
  }

  bool ReadAction(uint32_t line, const std::string& path, const toml::node& item,
                  AutomationAction& action) {
    static constexpr absl::string_view kForms =
        "an action is \"bounce\", { suspend = \"30m\" } or { set = { ... }, for = \"2h\" }";
    if (const auto* word = item.as_string(); word != nullptr) {
      if (word->get() != "bounce") {
        Problem(line, path, kForms);
        return false;
      }
      action.kind = AutomationAction::Kind::kBounce;
      return true;
    }
    const toml::table* table = item.as_table();
    if (table == nullptr) {
      Problem(line, path, kForms);
      return false;
    }
    const toml::node* suspend = table->get("suspend");
    const toml::node* set = table->get("set");
    const toml::node* for_node = table->get("for");
    bool ok = true;
    for (auto&& [field, value] : *table) {
      if (Name(field) != "suspend" && Name(field) != "set" && Name(field) != "for") {
        Problem(LineOf(field.source()), Join(path, Name(field)),
                "unknown key (known: suspend, set, for)");
        ok = false;
      }
    }
    if ((suspend == nullptr) == (set == nullptr)) {
      Problem(line, path, kForms);
      return false;
    }
    std::optional<absl::Duration> duration;
    if (suspend != nullptr) {
      action.kind = AutomationAction::Kind::kSuspend;
      if (for_node != nullptr) {
        Problem(line, Join(path, "for"), "goes with set, not suspend");
        ok = false;
      }
      ok = ReadDuration(line, Join(path, "suspend"), *suspend, duration) && ok;
    } else {
      action.kind = AutomationAction::Kind::kSet;
      if (for_node == nullptr) {
        Problem(line, path, "set needs for = \"DURATION\"");
        return false;
      }
      ok = ReadDuration(line, Join(path, "for"), *for_node, duration) && ok;
      const std::string set_path = Join(path, "set");
      const toml::table* options = set->as_table();
      if (options == nullptr || options->empty()) {
        Problem(line, set_path, "must be a table of options: { max_message_rate = \"100/h\" }");
        return false;
      }
      for (auto&& [field, value] : *options) {
        const std::string field_path = Join(set_path, Name(field));
        if (!ReadOption(field, value, field_path, action.options)) {
          Problem(LineOf(field.source()), field_path, UnknownKey("set", false));
          ok = false;
        }
      }
    }
    if (duration) action.duration = *duration;
    return ok;
  }

  void ReadTrigger(uint32_t line, const std::string& path, const toml::node& value,
                   std::optional<RateSpec>& threshold) {
    static constexpr absl::string_view kForms =
        "trigger is \"immediate\" or { threshold = \"N/period\" }";
    if (const auto* word = value.as_string(); word != nullptr) {
      if (word->get() != "immediate") Problem(line, path, kForms);
      return;
    }
    const toml::table* table = value.as_table();
    if (table == nullptr || table->size() != 1 || !table->contains("threshold")) {
      Problem(line, path, kForms);
      return;
    }
    ReadRate(line, Join(path, "threshold"), *table->get("threshold"), threshold);
  }

  // "4 steps over 1h".
  void ReadRampUp(uint32_t line, const std::string& path, const toml::node& value,
                  std::optional<RampUpSpec>& into) {
    const std::optional<absl::string_view> text = StringOrProblem(line, path, value);
    if (!text) return;
    const std::vector<absl::string_view> words = absl::StrSplit(*text, ' ', absl::SkipWhitespace());
    RampUpSpec spec;
    uint32_t steps = 0;
    const bool shape_ok = words.size() == 4 && absl::SimpleAtoi(words[0], &steps) &&
                          (words[1] == "steps" || words[1] == "step") && words[2] == "over";
    if (!shape_ok || steps < 1 || steps > RampUpSpec::kStepsMax) {
      Problem(line, path,
              absl::StrCat("ramp_up is \"N steps over DURATION\", N from 1 to ",
                           RampUpSpec::kStepsMax, " (\"4 steps over 1h\")"));
      return;
    }
    auto over = core::ParsePositiveDuration(words[3]);
    if (!over.ok()) {
      Problem(line, path, over.status().message());
      return;
    }
    spec.steps = steps;
    spec.over = *over;
    into = spec;
  }

  std::string file_name_;
  ShapingPolicy policy_;
  core::TomlProblems problems_{kProblemsReportedMax};
  size_t blocks_ = 0;
};

}  // namespace

absl::StatusOr<ShapingPolicy> ParseShapingPolicy(absl::string_view text,
                                                 absl::string_view file_name) {
  return PolicyReader(file_name).Read(text);
}

absl::StatusOr<ShapingPolicy> LoadShapingPolicy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot open shaping policy ", path, ": ", std::strerror(errno)));
  }
  std::string text(kShapingPolicyBytesMax + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read shaping policy ", path));
  }
  text.resize(static_cast<size_t>(in.gcount()));
  return ParseShapingPolicy(text, path);
}

}  // namespace tern::queue
