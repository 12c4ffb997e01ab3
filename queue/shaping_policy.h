// ShapingPolicy: the traffic shaping policy (--shaping=FILE, queue/shaping_policy_file.h
// reads it) as plain data, and Resolve(): which settings, shared limits and automation
// rules apply to one (destination, egress source) pair.
//
// The blocks, least specific first:
//   [default]                    every destination
//   [provider.NAME]              sites matched by MX host suffix or recipient domain suffix
//   [site."MX1,MX2"]             one MX set (sorted lowercase MX host names joined by ",")
//   [domain."D"]                 one recipient domain (exact, lowercase)
//   [source.X]                   one egress source, all destinations
//   [domain."D".source.X]        one source at one domain (IP warm-up)
//
// Semantics (what the delivery layer builds on):
// * Every limit is per egress source: receivers limit per sending IP. Source "" is the
//   address the kernel picks (no --egress_source).
// * ResolvedShaping::lane = BuiltInDefaults() < default < provider < site < domain <
//   source (its non-limit options only) < domain+source, field by field, the most specific
//   block that sets a field wins. The lane's limits (connection_limit, max_message_rate,
//   max_connection_rate) hold for one (source, site) lane.
// * A [source.X] block's limits are X's total over all destinations: the shared scope
//   "source:X". Its other options (max_deliveries_per_connection, retry_schedule,
//   max_queue_lifetime, the connection failure delays) merge into the lane between domain
//   and domain+source.
// * A provider block's limits are merged into the lane AND shared by every site it matches,
//   per source: the shared scope "provider:NAME@SOURCE" ("provider:google@" for source "").
// * A domain with a [domain."D"] or any [domain."D".source.X] block is its own site, no MX
//   rollup: own_site is true and the caller keys its lane by the domain. Site blocks still
//   apply to it when its MX set has one.
// * Provider matching: the first provider in file order that matches the site. Its
//   mx_suffix entries match when EVERY MX host of the site ends with one of them (so
//   { mx_suffix = ".google.com" } alone takes a site of only *.google.com hosts, and with
//   { mx_suffix = ".googlemail.com" } too it also takes the common mix of aspmx.l.google.com
//   and aspmx2.googlemail.com); ".google.com" also matches the host "google.com" itself.
//   A domain_suffix entry matches the recipient domain: ".googlemail.com" matches
//   "x.googlemail.com" and "googlemail.com". A suffix written without the leading dot
//   means the same: label boundaries only, "notgoogle.com" never matches. Resolve looks
//   suffixes up in hash maps, one lookup per label of each name: no scan over providers
//   or domains.
// * Rules: those of the domain, the site, the provider and the default block, in that
//   order (most specific first).
//
//   ASSIGN_OR_RETURN(ShapingPolicy policy, LoadShapingPolicy("/etc/tern/shaping.toml"));
//   RETURN_IF_ERROR(policy.Validate(known_source_names));
//   ResolvedShaping r = policy.Resolve({.domain = "example.com",
//                                       .site_key = "mx1.example.net,mx2.example.net",
//                                       .mx_hosts = mx_hosts, .source = "ip2"});
//   key lane by (source, r.own_site ? domain : site_key); take r.lane's limits there, and
//   each r.shared scope's limits at the cell named r.shared[i].key.
//
// A policy is immutable once built; Resolve is const and may be called from every shard.
// Pointers in a ResolvedShaping point into the policy and live as long as it does.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "queue/rate_spec.h"
#include "queue/shaping_options.h"

namespace tern::queue {

// Where a block or rule was written, for messages: "shaping.toml:12".
using PolicyOrigin = std::string;

// Gradual return after an override expires: "4 steps over 1h".
struct RampUpSpec {
  static constexpr uint32_t kStepsMax = 100;
  uint32_t steps = 0;  // 1..kStepsMax
  absl::Duration over;
  bool operator==(const RampUpSpec&) const = default;
};

// One thing a rule does when it fires.
struct AutomationAction {
  enum class Kind {
    kSuspend,  // no attempts from the source to the site for `duration`
    kSet,      // `options` laid over the lane for `duration`
    kBounce,   // fail the message with the reply that matched
  };
  Kind kind = Kind::kSuspend;
  absl::Duration duration;  // kSuspend, kSet
  ShapingOptions options;   // kSet
  bool operator==(const AutomationAction&) const = default;
};

// An automation rule as written ([[default.automation]], [[provider.X.automation]],
// [[site."K".automation]], [[domain."D".automation]]). Plain data: the regexes are
// checked for RE2 syntax when the file is read but compiled by whoever applies the rule.
struct AutomationRuleSpec {
  static constexpr size_t kRegexesMax = 64;
  static constexpr size_t kActionsMax = 8;
  enum class Scope { kDefault, kProvider, kSite, kDomain };
  Scope scope = Scope::kDefault;
  std::string scope_name;          // provider name, site key or domain; "" for default
  std::vector<std::string> regex;  // RE2 syntax, matched against "CODE ENHANCED TEXT"
  std::vector<AutomationAction> actions;
  // Fire on every match (nullopt: trigger = "immediate") or when `threshold->count`
  // matches fall within `threshold->period` (trigger = { threshold = "10/5min" }).
  std::optional<RateSpec> threshold;
  bool match_internal = false;  // also match failures Tern makes (refused, timeout)
  std::optional<RampUpSpec> ramp_up;
  PolicyOrigin origin;
};

// [default], [site."K"], [domain."D"]: options and rules.
struct DestinationBlock {
  ShapingOptions options;
  std::vector<AutomationRuleSpec> automation;
  PolicyOrigin origin;
};

// [source.X] and [domain."D".source.X]: options only.
struct SourceBlock {
  ShapingOptions options;
  PolicyOrigin origin;
};

struct ProviderMatch {
  enum class Kind { kMxSuffix, kDomainSuffix };
  Kind kind = Kind::kMxSuffix;
  std::string suffix;  // lowercase, without the leading dot: "google.com"
  bool operator==(const ProviderMatch&) const = default;
};

struct ProviderBlock {
  std::string name;
  ShapingOptions options;
  std::vector<ProviderMatch> match;  // at least one
  std::vector<AutomationRuleSpec> automation;
  PolicyOrigin origin;
};

// What Resolve() is asked about. Names are lowercase without a trailing dot (Resolve folds
// them if not, at the cost of a copy).
struct SiteIdentity {
  absl::string_view domain;    // the recipient domain
  absl::string_view site_key;  // sorted MX host names joined by ","; "" for none (a route)
  std::span<const std::string> mx_hosts;
  absl::string_view source;  // egress source name, "" for the kernel's address
};

// A limit shared by several lanes: one throttle cell per key.
struct ThrottleScope {
  std::string key;  // "provider:NAME@SOURCE" or "source:NAME"
  std::optional<uint32_t> connection_limit;
  std::optional<RateSpec> max_message_rate;
  std::optional<RateSpec> max_connection_rate;
  bool operator==(const ThrottleScope&) const = default;
};

struct ResolvedShaping {
  ShapingOptions lane;                // every field set
  std::vector<ThrottleScope> shared;  // provider scope first, then the source's
  const ProviderBlock* provider = nullptr;
  std::string provider_name;                     // "" for none
  std::vector<const AutomationRuleSpec*> rules;  // most specific first
  bool own_site = false;                         // key the lane by the domain, not the site
};

class ShapingPolicy {
 public:
  static constexpr size_t kBlocksMax = 100'000;

  // Building (the file reader and tests). Each Add* returns false, changing nothing, when
  // that block exists already; names are normalized by the caller (NormalizeSiteKey for
  // sites, lowercase domains).
  DestinationBlock& mutable_default_block() { return default_; }
  bool AddProvider(ProviderBlock provider);
  bool AddSite(std::string site_key, DestinationBlock block);
  bool AddDomain(std::string domain, DestinationBlock block);
  bool AddSource(std::string source, SourceBlock block);
  bool AddDomainSource(std::string domain, std::string source, SourceBlock block);

  // "MX2.example.net., mx1.example.net" → "mx1.example.net,mx2.example.net".
  static std::string NormalizeSiteKey(absl::string_view mx_hosts_joined);

  // The settings for one destination and source; see the semantics above.
  ResolvedShaping Resolve(const SiteIdentity& site) const;

  // InvalidArgument listing, one per line as "FILE:LINE: source.X: ...", every source
  // block ([source.X], [domain."D".source.X]) whose X is not in `known_sources`.
  absl::Status Validate(const absl::flat_hash_set<std::string>& known_sources) const;

  const DestinationBlock& default_block() const { return default_; }
  const std::vector<ProviderBlock>& providers() const { return providers_; }
  const ProviderBlock* FindProvider(absl::string_view name) const;
  const DestinationBlock* FindSite(absl::string_view site_key) const;
  const DestinationBlock* FindDomain(absl::string_view domain) const;
  // A [domain."D"] or [domain."D".source.X] block exists (`domain` lowercase).
  bool HasDomainBlocks(absl::string_view domain) const { return domains_.contains(domain); }
  const SourceBlock* FindSource(absl::string_view source) const;
  const SourceBlock* FindDomainSource(absl::string_view domain, absl::string_view source) const;
  size_t block_count() const;
  // What every lane starts from before the policy's blocks: the built-in defaults, with
  // ternd's flags laid over them (--max_connections_per_destination,
  // --max_messages_per_connection) by the composition root.
  void set_base(const ShapingOptions& base) { base_ = base; }
  const ShapingOptions& base() const { return base_; }

 private:
  struct DomainEntry {
    std::optional<DestinationBlock> block;
    absl::flat_hash_map<std::string, SourceBlock> sources;
  };
  using ProviderIndexes = absl::InlinedVector<size_t, 4>;  // ascending: file order
  ProviderIndexes ProvidersCoveringHost(absl::string_view host) const;
  // The provider that matches, or null.
  const ProviderBlock* MatchProvider(absl::string_view domain,
                                     std::span<const std::string> mx_hosts) const;

  ShapingOptions base_ = ShapingOptions::BuiltInDefaults();
  DestinationBlock default_;
  std::vector<ProviderBlock> providers_;  // file order
  absl::flat_hash_map<std::string, size_t> provider_by_name_;
  // Suffix (without leading dot) → the providers (indexes) with that mx suffix, or the
  // first provider with that domain suffix.
  absl::flat_hash_map<std::string, ProviderIndexes> provider_by_mx_suffix_;
  absl::flat_hash_map<std::string, size_t> provider_by_domain_suffix_;
  absl::flat_hash_map<std::string, DestinationBlock> sites_;
  absl::flat_hash_map<std::string, DomainEntry> domains_;
  absl::flat_hash_map<std::string, SourceBlock> sources_;
  size_t domain_source_count_ = 0;
};

}  // namespace tern::queue
