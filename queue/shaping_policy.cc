// Implementation of queue/shaping_policy.h: building the indexes and Resolve().
#include "queue/shaping_policy.h"

#include <algorithm>
#include <iterator>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/check.h"

namespace tern::queue {
namespace {

// `name` lowercase without a trailing dot; copies into `storage` only when it must change.
absl::string_view Folded(absl::string_view name, std::string& storage) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (std::none_of(name.begin(), name.end(), absl::ascii_isupper)) return name;
  storage = absl::AsciiStrToLower(name);
  return storage;
}

// Calls visit(suffix) for `name` and every part after one of its dots ("a.b.c", "b.c", "c"),
// stopping when visit returns true.
template <typename Visit>
void ForEachLabelSuffix(absl::string_view name, Visit visit) {
  while (!name.empty()) {
    if (visit(name)) return;
    const size_t dot = name.find('.');
    if (dot == absl::string_view::npos) return;
    name.remove_prefix(dot + 1);
  }
}

bool HasLimit(const ShapingOptions& o) {
  return o.connection_limit.has_value() || o.max_message_rate.has_value() ||
         o.max_connection_rate.has_value();
}

ShapingOptions WithoutLimits(ShapingOptions o) {
  o.connection_limit.reset();
  o.max_message_rate.reset();
  o.max_connection_rate.reset();
  return o;
}

ThrottleScope ScopeOf(std::string key, const ShapingOptions& o) {
  return ThrottleScope{.key = std::move(key),
                       .connection_limit = o.connection_limit,
                       .max_message_rate = o.max_message_rate,
                       .max_connection_rate = o.max_connection_rate};
}

void AppendRules(const std::vector<AutomationRuleSpec>& from,
                 std::vector<const AutomationRuleSpec*>& into) {
  for (const AutomationRuleSpec& rule : from) into.push_back(&rule);
}

}  // namespace

bool ShapingPolicy::AddProvider(ProviderBlock provider) {
  const size_t index = providers_.size();
  if (!provider_by_name_.emplace(provider.name, index).second) return false;
  for (const ProviderMatch& m : provider.match) {
    if (m.kind == ProviderMatch::Kind::kMxSuffix) {
      ProviderIndexes& providers = provider_by_mx_suffix_[m.suffix];
      if (providers.empty() || providers.back() != index) providers.push_back(index);
    } else {
      provider_by_domain_suffix_.emplace(m.suffix, index);  // an earlier provider keeps it
    }
  }
  providers_.push_back(std::move(provider));
  return true;
}

bool ShapingPolicy::AddSite(std::string site_key, DestinationBlock block) {
  return sites_.emplace(std::move(site_key), std::move(block)).second;
}

bool ShapingPolicy::AddDomain(std::string domain, DestinationBlock block) {
  DomainEntry& entry = domains_[std::move(domain)];
  if (entry.block.has_value()) return false;
  entry.block = std::move(block);
  return true;
}

bool ShapingPolicy::AddSource(std::string source, SourceBlock block) {
  return sources_.emplace(std::move(source), std::move(block)).second;
}

bool ShapingPolicy::AddDomainSource(std::string domain, std::string source, SourceBlock block) {
  DomainEntry& entry = domains_[std::move(domain)];
  if (!entry.sources.emplace(std::move(source), std::move(block)).second) return false;
  ++domain_source_count_;
  return true;
}

std::string ShapingPolicy::NormalizeSiteKey(absl::string_view mx_hosts_joined) {
  std::vector<std::string> hosts;
  for (absl::string_view host : absl::StrSplit(mx_hosts_joined, ',', absl::SkipWhitespace())) {
    host = absl::StripAsciiWhitespace(host);
    absl::ConsumeSuffix(&host, ".");
    if (!host.empty()) hosts.push_back(absl::AsciiStrToLower(host));
  }
  std::sort(hosts.begin(), hosts.end());
  hosts.erase(std::unique(hosts.begin(), hosts.end()), hosts.end());
  return absl::StrJoin(hosts, ",");
}

ShapingPolicy::ProviderIndexes ShapingPolicy::ProvidersCoveringHost(absl::string_view host) const {
  std::string storage;
  ProviderIndexes found;
  ForEachLabelSuffix(Folded(host, storage), [&](absl::string_view suffix) {
    auto it = provider_by_mx_suffix_.find(suffix);
    if (it != provider_by_mx_suffix_.end()) {
      found.insert(found.end(), it->second.begin(), it->second.end());
    }
    return false;
  });
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  return found;
}

const ProviderBlock* ShapingPolicy::MatchProvider(absl::string_view domain,
                                                  std::span<const std::string> mx_hosts) const {
  size_t best = providers_.size();
  if (!provider_by_domain_suffix_.empty()) {
    ForEachLabelSuffix(domain, [&](absl::string_view suffix) {
      auto it = provider_by_domain_suffix_.find(suffix);
      if (it != provider_by_domain_suffix_.end()) best = std::min(best, it->second);
      return false;
    });
  }
  if (!provider_by_mx_suffix_.empty() && !mx_hosts.empty()) {
    // The providers whose mx suffixes cover the first host, kept while they cover every
    // other host too; the first in file order wins.
    ProviderIndexes candidates = ProvidersCoveringHost(mx_hosts.front());
    for (size_t i = 1; i < mx_hosts.size() && !candidates.empty(); ++i) {
      const ProviderIndexes covering = ProvidersCoveringHost(mx_hosts[i]);
      ProviderIndexes kept;
      std::set_intersection(candidates.begin(), candidates.end(), covering.begin(), covering.end(),
                            std::back_inserter(kept));
      candidates = std::move(kept);
    }
    if (!candidates.empty()) best = std::min(best, candidates.front());
  }
  return best < providers_.size() ? &providers_[best] : nullptr;
}

ResolvedShaping ShapingPolicy::Resolve(const SiteIdentity& site) const {
  std::string domain_storage;
  const absl::string_view domain = Folded(site.domain, domain_storage);
  ResolvedShaping r;
  r.lane = base_;
  r.lane.MergeFrom(default_.options);

  r.provider = MatchProvider(domain, site.mx_hosts);
  if (r.provider != nullptr) {
    r.provider_name = r.provider->name;
    r.lane.MergeFrom(r.provider->options);
    if (HasLimit(r.provider->options)) {
      r.shared.push_back(ScopeOf(absl::StrCat("provider:", r.provider->name, "@", site.source),
                                 r.provider->options));
    }
  }
  const DestinationBlock* site_block = site.site_key.empty() ? nullptr : FindSite(site.site_key);
  if (site_block != nullptr) r.lane.MergeFrom(site_block->options);

  const DomainEntry* domain_entry = nullptr;
  if (auto it = domains_.find(domain); it != domains_.end()) domain_entry = &it->second;
  const DestinationBlock* domain_block =
      domain_entry != nullptr && domain_entry->block.has_value() ? &*domain_entry->block : nullptr;
  if (domain_block != nullptr) r.lane.MergeFrom(domain_block->options);
  r.own_site = domain_entry != nullptr;

  if (const SourceBlock* source = FindSource(site.source); source != nullptr) {
    r.lane.MergeFrom(WithoutLimits(source->options));
    if (HasLimit(source->options)) {
      r.shared.push_back(ScopeOf(absl::StrCat("source:", site.source), source->options));
    }
  }
  if (domain_entry != nullptr) {
    if (auto it = domain_entry->sources.find(site.source); it != domain_entry->sources.end()) {
      r.lane.MergeFrom(it->second.options);
    }
  }

  if (domain_block != nullptr) AppendRules(domain_block->automation, r.rules);
  if (site_block != nullptr) AppendRules(site_block->automation, r.rules);
  if (r.provider != nullptr) AppendRules(r.provider->automation, r.rules);
  AppendRules(default_.automation, r.rules);
  return r;
}

absl::Status ShapingPolicy::Validate(const absl::flat_hash_set<std::string>& known_sources) const {
  // (line, message): sorted by line so the output is stable whatever the hash order.
  std::vector<std::pair<uint32_t, std::string>> problems;
  auto complain = [&](const PolicyOrigin& origin, absl::string_view key, absl::string_view name) {
    uint32_t line = 0;
    if (const size_t colon = origin.rfind(':'); colon != std::string::npos) {
      (void)absl::SimpleAtoi(absl::string_view(origin).substr(colon + 1), &line);
    }
    problems.emplace_back(line,
                          absl::StrCat(origin, ": ", key, ": '", name,
                                       "' is not an egress source (--egress_source=NAME=IP)"));
  };
  for (const auto& [name, block] : sources_) {
    if (!known_sources.contains(name)) complain(block.origin, absl::StrCat("source.", name), name);
  }
  for (const auto& [domain, entry] : domains_) {
    for (const auto& [name, block] : entry.sources) {
      if (!known_sources.contains(name)) {
        complain(block.origin, absl::StrCat("domain.\"", domain, "\".source.", name), name);
      }
    }
  }
  if (problems.empty()) return absl::OkStatus();
  std::sort(problems.begin(), problems.end());
  std::vector<std::string> lines;
  lines.reserve(problems.size());
  for (auto& [line, message] : problems) lines.push_back(std::move(message));
  return absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));
}

const ProviderBlock* ShapingPolicy::FindProvider(absl::string_view name) const {
  auto it = provider_by_name_.find(name);
  return it == provider_by_name_.end() ? nullptr : &providers_[it->second];
}

const DestinationBlock* ShapingPolicy::FindSite(absl::string_view site_key) const {
  auto it = sites_.find(site_key);
  return it == sites_.end() ? nullptr : &it->second;
}

const DestinationBlock* ShapingPolicy::FindDomain(absl::string_view domain) const {
  auto it = domains_.find(domain);
  return it == domains_.end() || !it->second.block.has_value() ? nullptr : &*it->second.block;
}

const SourceBlock* ShapingPolicy::FindSource(absl::string_view source) const {
  auto it = sources_.find(source);
  return it == sources_.end() ? nullptr : &it->second;
}

const SourceBlock* ShapingPolicy::FindDomainSource(absl::string_view domain,
                                                   absl::string_view source) const {
  auto it = domains_.find(domain);
  if (it == domains_.end()) return nullptr;
  auto source_it = it->second.sources.find(source);
  return source_it == it->second.sources.end() ? nullptr : &source_it->second;
}

size_t ShapingPolicy::block_count() const {
  size_t domain_blocks = 0;
  for (const auto& [domain, entry] : domains_) domain_blocks += entry.block.has_value() ? 1 : 0;
  return 1 + providers_.size() + sites_.size() + domain_blocks + sources_.size() +
         domain_source_count_;
}

}  // namespace tern::queue
