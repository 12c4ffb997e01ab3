// Tests of ShapingPolicy::Resolve (queue/shaping_policy.h): merge order, provider
// matching, own sites, shared scopes, rule order and the source block's semantics.
#include "queue/shaping_policy.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "queue/shaping_policy_file.h"

namespace tern::queue {
namespace {

ShapingPolicy Parse(const char* text) {
  auto policy = ParseShapingPolicy(text, "p.toml");
  EXPECT_TRUE(policy.ok()) << policy.status();
  return policy.ok() ? *std::move(policy) : ShapingPolicy();
}

RateSpec Rate(const char* text) { return *RateSpec::Parse(text); }

const std::vector<std::string> kGoogleMx = {"aspmx.l.google.com", "alt1.aspmx.l.google.com"};
const std::vector<std::string> kOtherMx = {"mx1.example.net", "mx2.example.net"};

TEST(ShapingPolicy, EmptyPolicyResolvesToBuiltInDefaults) {
  const ShapingPolicy policy;
  const ResolvedShaping r = policy.Resolve(
      {.domain = "example.com", .site_key = "mx1.example.net", .mx_hosts = kOtherMx});
  EXPECT_EQ(r.lane, ShapingOptions::BuiltInDefaults());
  EXPECT_TRUE(r.shared.empty());
  EXPECT_EQ(r.provider, nullptr);
  EXPECT_EQ(r.provider_name, "");
  EXPECT_TRUE(r.rules.empty());
  EXPECT_FALSE(r.own_site);
}

// Each level sets max_deliveries_per_connection to its own number and one field of its
// own; the most specific level's number wins, the others' fields stay.
TEST(ShapingPolicy, MergeOrderMostSpecificWins) {
  const ShapingPolicy policy = Parse(R"toml(
[default]
max_deliveries_per_connection = 1
max_queue_lifetime = "1d"
[provider.p]
match = [{ mx_suffix = ".example.net" }]
max_deliveries_per_connection = 2
connection_limit = 7
[site."mx1.example.net,mx2.example.net"]
max_deliveries_per_connection = 3
max_connection_rate = "9/s"
[domain."example.com"]
max_deliveries_per_connection = 4
retry_schedule = "1m"
[source.ip1]
max_deliveries_per_connection = 5
connection_failure_delay = "7m"
[domain."example.com".source.ip1]
max_deliveries_per_connection = 6
max_message_rate = "500/day"
)toml");
  const SiteIdentity base{.domain = "example.com",
                          .site_key = "mx1.example.net,mx2.example.net",
                          .mx_hosts = kOtherMx,
                          .source = "ip1"};
  ResolvedShaping r = policy.Resolve(base);
  EXPECT_EQ(r.lane.max_deliveries_per_connection, 6u);
  EXPECT_EQ(r.lane.max_queue_lifetime, absl::Hours(24));
  EXPECT_EQ(r.lane.connection_limit, 7u);
  EXPECT_EQ(r.lane.max_connection_rate, Rate("9/s"));
  EXPECT_EQ(r.lane.retry_schedule, "1m");
  EXPECT_EQ(r.lane.connection_failure_delay, absl::Minutes(7));
  EXPECT_EQ(r.lane.max_message_rate, Rate("500/day"));
  EXPECT_EQ(r.lane.connection_failure_delay_max, absl::Hours(1));  // built-in

  SiteIdentity other_source = base;
  other_source.source = "ip2";  // no source block, no domain+source block
  EXPECT_EQ(policy.Resolve(other_source).lane.max_deliveries_per_connection, 4u);
  SiteIdentity no_domain = base;
  no_domain.domain = "example.org";
  EXPECT_EQ(policy.Resolve(no_domain).lane.max_deliveries_per_connection, 5u);
  no_domain.source = "";
  EXPECT_EQ(policy.Resolve(no_domain).lane.max_deliveries_per_connection, 3u);
  no_domain.site_key = "mx9.example.net";
  EXPECT_EQ(policy.Resolve(no_domain).lane.max_deliveries_per_connection, 2u);
  no_domain.mx_hosts = {};
  EXPECT_EQ(policy.Resolve(no_domain).lane.max_deliveries_per_connection, 1u);
}

TEST(ShapingPolicy, ProviderMatchesWhenEveryMxHostHasTheSuffix) {
  const ShapingPolicy policy = Parse(R"toml(
[provider.google]
match = [{ mx_suffix = ".google.com" }, { domain_suffix = ".googlemail.com" }]
)toml");
  EXPECT_EQ(policy.Resolve({.domain = "corp.example", .mx_hosts = kGoogleMx}).provider_name,
            "google");
  const std::vector<std::string> exact = {"google.com"};
  EXPECT_EQ(policy.Resolve({.domain = "x", .mx_hosts = exact}).provider_name, "google");
  const std::vector<std::string> mixed = {"aspmx.l.google.com", "mx.backup.example"};
  EXPECT_EQ(policy.Resolve({.domain = "corp.example", .mx_hosts = mixed}).provider, nullptr);
  const std::vector<std::string> lookalike = {"mx.notgoogle.com"};
  EXPECT_EQ(policy.Resolve({.domain = "corp.example", .mx_hosts = lookalike}).provider, nullptr);
  const std::vector<std::string> upper = {"ASPMX.L.GOOGLE.COM.", "alt1.aspmx.l.google.com."};
  EXPECT_EQ(policy.Resolve({.domain = "corp.example", .mx_hosts = upper}).provider_name, "google");
}

TEST(ShapingPolicy, EveryMxHostUnderOneOfTheProvidersSuffixes) {
  const ShapingPolicy policy = Parse(R"toml(
[provider.other]
match = [{ mx_suffix = ".googlemail.com" }]
[provider.google]
match = [{ mx_suffix = ".google.com" }, { mx_suffix = ".googlemail.com" }]
)toml");
  const std::vector<std::string> workspace = {"aspmx.l.google.com", "aspmx2.googlemail.com"};
  EXPECT_EQ(policy.Resolve({.domain = "corp.example", .mx_hosts = workspace}).provider_name,
            "google");
  const std::vector<std::string> googlemail = {"aspmx2.googlemail.com"};
  EXPECT_EQ(policy.Resolve({.domain = "corp.example", .mx_hosts = googlemail}).provider_name,
            "other");  // first in the file
  const std::vector<std::string> with_other = {"aspmx.l.google.com", "mx.example.net"};
  EXPECT_EQ(policy.Resolve({.domain = "corp.example", .mx_hosts = with_other}).provider, nullptr);
}

TEST(ShapingPolicy, ProviderMatchesByDomainSuffix) {
  const ShapingPolicy policy = Parse(R"toml(
[provider.google]
match = [{ domain_suffix = ".googlemail.com" }]
)toml");
  EXPECT_EQ(policy.Resolve({.domain = "x.googlemail.com", .mx_hosts = kOtherMx}).provider_name,
            "google");
  EXPECT_EQ(policy.Resolve({.domain = "googlemail.com"}).provider_name, "google");
  EXPECT_EQ(policy.Resolve({.domain = "GoogleMail.COM"}).provider_name, "google");
  EXPECT_EQ(policy.Resolve({.domain = "notgooglemail.com"}).provider, nullptr);
  EXPECT_EQ(policy.Resolve({.domain = "googlemail.com.example"}).provider, nullptr);
}

TEST(ShapingPolicy, FirstProviderInFileOrderWins) {
  // "zeta" sorts after "alpha" but comes first in the file.
  const ShapingPolicy policy = Parse(R"toml(
[provider.zeta]
match = [{ mx_suffix = "l.google.com" }]
connection_limit = 1
[provider.alpha]
match = [{ mx_suffix = ".google.com" }, { domain_suffix = "example.com" }]
connection_limit = 2
)toml");
  ASSERT_EQ(policy.providers().size(), 2u);
  EXPECT_EQ(policy.providers()[0].name, "zeta");
  ResolvedShaping r = policy.Resolve({.domain = "example.com", .mx_hosts = kGoogleMx});
  EXPECT_EQ(r.provider_name, "zeta");
  EXPECT_EQ(r.provider, &policy.providers()[0]);
  EXPECT_EQ(r.lane.connection_limit, 1u);
  // Only alpha matches these.
  const std::vector<std::string> other_google = {"smtp.google.com"};
  EXPECT_EQ(policy.Resolve({.domain = "a.test", .mx_hosts = other_google}).provider_name, "alpha");
  EXPECT_EQ(policy.Resolve({.domain = "example.com", .mx_hosts = kOtherMx}).provider_name, "alpha");
}

TEST(ShapingPolicy, DomainBlocksMakeTheirOwnSite) {
  const ShapingPolicy policy = Parse(R"toml(
[domain."example.com"]
connection_limit = 3
[domain."gmail.com".source.ip2]
max_message_rate = "500/day"
)toml");
  EXPECT_TRUE(policy.Resolve({.domain = "example.com"}).own_site);
  EXPECT_TRUE(policy.Resolve({.domain = "EXAMPLE.com."}).own_site);
  EXPECT_TRUE(policy.Resolve({.domain = "gmail.com", .source = "ip2"}).own_site);
  EXPECT_TRUE(policy.Resolve({.domain = "gmail.com", .source = "ip1"}).own_site);
  EXPECT_FALSE(policy.Resolve({.domain = "sub.example.com"}).own_site);  // exact only
  EXPECT_FALSE(policy.Resolve({.domain = "example.org"}).own_site);
  EXPECT_EQ(policy.Resolve({.domain = "gmail.com", .source = "ip2"}).lane.max_message_rate,
            Rate("500/day"));
  EXPECT_FALSE(policy.Resolve({.domain = "gmail.com", .source = "ip1"}).lane.max_message_rate);
}

TEST(ShapingPolicy, SharedScopesForProviderAndSource) {
  const ShapingPolicy policy = Parse(R"toml(
[provider.google]
match = [{ mx_suffix = ".google.com" }]
connection_limit = 40
max_message_rate = "3000/min"
[provider.quiet]
match = [{ mx_suffix = ".example.net" }]
max_deliveries_per_connection = 10
[source.ip2]
max_message_rate = "50000/h"
max_connection_rate = "10/s"
max_deliveries_per_connection = 50
)toml");
  ResolvedShaping r =
      policy.Resolve({.domain = "corp.example", .mx_hosts = kGoogleMx, .source = "ip2"});
  ASSERT_EQ(r.shared.size(), 2u);
  EXPECT_EQ(r.shared[0], (ThrottleScope{.key = "provider:google@ip2",
                                        .connection_limit = 40,
                                        .max_message_rate = Rate("3000/min")}));
  EXPECT_EQ(r.shared[1], (ThrottleScope{.key = "source:ip2",
                                        .max_message_rate = Rate("50000/h"),
                                        .max_connection_rate = Rate("10/s")}));
  // The provider's limits are also the lane's; the source's limits are not.
  EXPECT_EQ(r.lane.connection_limit, 40u);
  EXPECT_EQ(r.lane.max_message_rate, Rate("3000/min"));
  EXPECT_FALSE(r.lane.max_connection_rate.has_value());
  EXPECT_EQ(r.lane.max_deliveries_per_connection, 50u);  // non-limit: merged

  ResolvedShaping kernel = policy.Resolve({.domain = "corp.example", .mx_hosts = kGoogleMx});
  ASSERT_EQ(kernel.shared.size(), 1u);
  EXPECT_EQ(kernel.shared[0].key, "provider:google@");

  // A provider without limits has no shared scope.
  ResolvedShaping quiet = policy.Resolve({.domain = "a.test", .mx_hosts = kOtherMx});
  EXPECT_EQ(quiet.provider_name, "quiet");
  EXPECT_TRUE(quiet.shared.empty());
}

TEST(ShapingPolicy, RulesMostSpecificFirst) {
  const ShapingPolicy policy = Parse(R"toml(
[[default.automation]]
regex = 'default'
action = "bounce"
[[provider.p.automation]]
regex = 'provider'
action = "bounce"
[provider.p]
match = [{ mx_suffix = "example.net" }]
[[site."mx1.example.net,mx2.example.net".automation]]
regex = 'site'
action = "bounce"
[[domain."example.com".automation]]
regex = 'domain1'
action = "bounce"
[[domain."example.com".automation]]
regex = 'domain2'
action = "bounce"
)toml");
  ResolvedShaping r = policy.Resolve({.domain = "example.com",
                                      .site_key = "mx1.example.net,mx2.example.net",
                                      .mx_hosts = kOtherMx});
  std::vector<std::string> order;
  for (const AutomationRuleSpec* rule : r.rules) order.push_back(rule->regex[0]);
  EXPECT_EQ(order, (std::vector<std::string>{"domain1", "domain2", "site", "provider", "default"}));
  EXPECT_TRUE(r.own_site);  // a rule block makes a domain block too

  ResolvedShaping bare = policy.Resolve({.domain = "example.org"});
  ASSERT_EQ(bare.rules.size(), 1u);
  EXPECT_EQ(bare.rules[0]->regex[0], "default");
}

TEST(ShapingPolicy, NormalizeSiteKeySortsLowercasesAndDedups) {
  EXPECT_EQ(ShapingPolicy::NormalizeSiteKey("MX2.example.net., mx1.example.net,mx1.example.net"),
            "mx1.example.net,mx2.example.net");
  EXPECT_EQ(ShapingPolicy::NormalizeSiteKey(""), "");
}

TEST(ShapingPolicy, ManyBlocksStillResolveEachExactly) {
  ShapingPolicy policy;
  for (int i = 0; i < 1000; ++i) {
    DestinationBlock block;
    block.options.connection_limit = static_cast<uint32_t>(i + 1);
    ASSERT_TRUE(policy.AddDomain("d" + std::to_string(i) + ".test", block));
    ProviderBlock provider;
    provider.name = "p" + std::to_string(i);
    provider.match.push_back({ProviderMatch::Kind::kMxSuffix, "mx" + std::to_string(i) + ".net"});
    ASSERT_TRUE(policy.AddProvider(provider));
  }
  EXPECT_FALSE(policy.AddDomain("d5.test", {}));
  EXPECT_EQ(policy.Resolve({.domain = "d417.test"}).lane.connection_limit, 418u);
  const std::vector<std::string> mx = {"a.mx733.net", "b.mx733.net"};
  EXPECT_EQ(policy.Resolve({.domain = "x.test", .mx_hosts = mx}).provider_name, "p733");
  EXPECT_EQ(policy.block_count(), 2001u);
}

}  // namespace
}  // namespace tern::queue
