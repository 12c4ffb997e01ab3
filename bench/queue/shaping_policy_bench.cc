// ShapingPolicy::Resolve (queue/shaping_policy.h) with a large policy (10,000 domain blocks,
// 100 providers, a source block) against an empty one, for three destinations: a Google
// Workspace site (provider match by MX suffix), a domain with its own block, and a domain
// nothing matches. The bar: a large policy costs no more than a few lookups per
// label, not a scan.
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "queue/shaping_policy.h"

namespace tern::queue {
namespace {

constexpr int kDomainBlocks = 10'000;
constexpr int kProviders = 100;

ShapingPolicy LargePolicy() {
  ShapingPolicy policy;
  policy.mutable_default_block().options.connection_limit = 10;
  for (int i = 0; i < kProviders; ++i) {
    ProviderBlock provider;
    provider.name = "provider" + std::to_string(i);
    provider.options.connection_limit = 20;
    provider.options.max_message_rate = *RateSpec::Parse("3000/min");
    provider.match.push_back(
        {ProviderMatch::Kind::kMxSuffix, "mx" + std::to_string(i) + ".provider.net"});
    provider.match.push_back(
        {ProviderMatch::Kind::kDomainSuffix, "mail" + std::to_string(i) + ".example"});
    AutomationRuleSpec rule;
    rule.regex.push_back("^421 ");
    provider.automation.push_back(rule);
    policy.AddProvider(std::move(provider));
  }
  ProviderBlock google;  // last: every earlier provider's suffixes are looked up first
  google.name = "google";
  google.options.connection_limit = 40;
  google.match.push_back({ProviderMatch::Kind::kMxSuffix, "google.com"});
  google.match.push_back({ProviderMatch::Kind::kMxSuffix, "googlemail.com"});
  policy.AddProvider(std::move(google));
  for (int i = 0; i < kDomainBlocks; ++i) {
    DestinationBlock block;
    block.options.max_message_rate = *RateSpec::Parse("600/min,max_burst=1");
    policy.AddDomain("customer" + std::to_string(i) + ".example.com", std::move(block));
  }
  SourceBlock source;
  source.options.max_message_rate = *RateSpec::Parse("50000/h");
  policy.AddSource("ip2", std::move(source));
  return policy;
}

const std::vector<std::string> kGoogleMx = {"aspmx.l.google.com", "alt1.aspmx.l.google.com",
                                            "alt2.aspmx.l.google.com", "aspmx2.googlemail.com",
                                            "aspmx3.googlemail.com"};
const std::vector<std::string> kOtherMx = {"mx1.mail.example.org", "mx2.mail.example.org"};

SiteIdentity Destination(int64_t which) {
  switch (which) {
    case 0:  // Google Workspace site: provider by MX suffix
      return {.domain = "corp.example",
              .site_key =
                  "alt1.aspmx.l.google.com,alt2.aspmx.l.google.com,aspmx.l.google.com,"
                  "aspmx2.googlemail.com,aspmx3.googlemail.com",
              .mx_hosts = kGoogleMx,
              .source = "ip2"};
    case 1:  // a domain with its own block
      return {.domain = "customer4711.example.com",
              .site_key = "mx1.mail.example.org,mx2.mail.example.org",
              .mx_hosts = kOtherMx,
              .source = "ip2"};
    default:  // nothing matches
      return {.domain = "www.nothing.example.org",
              .site_key = "mx1.mail.example.org,mx2.mail.example.org",
              .mx_hosts = kOtherMx,
              .source = ""};
  }
}

void Run(benchmark::State& state, const ShapingPolicy& policy) {
  const SiteIdentity site = Destination(state.range(0));
  state.SetLabel(state.range(0) == 0   ? "google_site"
                 : state.range(0) == 1 ? "own_domain"
                                       : "no_match");
  for (auto _ : state) {
    ResolvedShaping r = policy.Resolve(site);
    benchmark::DoNotOptimize(r);
  }
}

void BM_ResolveEmptyPolicy(benchmark::State& state) {
  static const ShapingPolicy* const policy = new ShapingPolicy();
  Run(state, *policy);
}
BENCHMARK(BM_ResolveEmptyPolicy)->DenseRange(0, 2);

void BM_ResolveLargePolicy(benchmark::State& state) {
  static const ShapingPolicy* const policy = new ShapingPolicy(LargePolicy());
  Run(state, *policy);
}
BENCHMARK(BM_ResolveLargePolicy)->DenseRange(0, 2);

}  // namespace
}  // namespace tern::queue
