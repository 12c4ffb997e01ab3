// Tests of queue/shaping_policy_file.h: the issue's example and deploy/'s example parse;
// every malformed file is refused with file, line and key; every option's range.
#include "queue/shaping_policy_file.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace tern::queue {
namespace {

constexpr char kIssueExample[] = R"toml([default]
connection_limit = 20                 # open connections, all shards together
max_message_rate = "2000/s"           # GCRA
max_connection_rate = "100/s"
max_deliveries_per_connection = 1000
retry_schedule = "1m,5m,15m,1h"       # optional per scope, like --retry_schedule
max_queue_lifetime = "5d"

[provider.google]
match = [{ mx_suffix = ".google.com" }, { domain_suffix = ".googlemail.com" }]
connection_limit = 40
max_message_rate = "3000/min"

[domain."example.com"]
max_message_rate = "600/min,max_burst=1"   # one every 100 ms

[source.ip2]                               # an egress source, all destinations
max_message_rate = "50000/h"

[domain."gmail.com".source.ip2]            # one source at one destination: IP warm-up
max_message_rate = "500/day"

[[provider.google.automation]]
regex = ['^421 4\.7\.28 ', 'unusual rate']  # matched against "CODE ENHANCED TEXT" of a reply
action = [{ suspend = "30m" }]              # or { set = { max_message_rate = "100/h" }, for = "2h" } or "bounce"
trigger = "immediate"                       # or { threshold = "10/5m" }
)toml";

TEST(ShapingPolicyFile, IssueExampleParses) {
  auto policy = ParseShapingPolicy(kIssueExample, "shaping.toml");
  ASSERT_TRUE(policy.ok()) << policy.status();
  const ShapingOptions& d = policy->default_block().options;
  EXPECT_EQ(d.connection_limit, 20u);
  EXPECT_EQ(d.max_message_rate, *RateSpec::Parse("2000/s"));
  EXPECT_EQ(d.max_connection_rate, *RateSpec::Parse("100/s"));
  EXPECT_EQ(d.max_deliveries_per_connection, 1000u);
  EXPECT_EQ(d.retry_schedule, "1m,5m,15m,1h");
  EXPECT_EQ(d.max_queue_lifetime, absl::Hours(120));

  const ProviderBlock* google = policy->FindProvider("google");
  ASSERT_NE(google, nullptr);
  EXPECT_EQ(google->origin, "shaping.toml:9");
  ASSERT_EQ(google->match.size(), 2u);
  EXPECT_EQ(google->match[0], (ProviderMatch{ProviderMatch::Kind::kMxSuffix, "google.com"}));
  EXPECT_EQ(google->match[1],
            (ProviderMatch{ProviderMatch::Kind::kDomainSuffix, "googlemail.com"}));
  EXPECT_EQ(google->options.connection_limit, 40u);
  ASSERT_EQ(google->automation.size(), 1u);
  const AutomationRuleSpec& rule = google->automation[0];
  EXPECT_EQ(rule.scope, AutomationRuleSpec::Scope::kProvider);
  EXPECT_EQ(rule.scope_name, "google");
  EXPECT_EQ(rule.regex, (std::vector<std::string>{"^421 4\\.7\\.28 ", "unusual rate"}));
  ASSERT_EQ(rule.actions.size(), 1u);
  EXPECT_EQ(rule.actions[0].kind, AutomationAction::Kind::kSuspend);
  EXPECT_EQ(rule.actions[0].duration, absl::Minutes(30));
  EXPECT_FALSE(rule.threshold.has_value());
  EXPECT_FALSE(rule.match_internal);
  EXPECT_EQ(rule.origin, "shaping.toml:23");

  ASSERT_NE(policy->FindDomain("example.com"), nullptr);
  EXPECT_EQ(policy->FindDomain("example.com")->options.max_message_rate->burst, 1u);
  ASSERT_NE(policy->FindSource("ip2"), nullptr);
  EXPECT_EQ(policy->FindSource("ip2")->options.max_message_rate, *RateSpec::Parse("50000/h"));
  EXPECT_EQ(policy->FindDomain("gmail.com"), nullptr);  // only a domain+source block
  ASSERT_NE(policy->FindDomainSource("gmail.com", "ip2"), nullptr);
  EXPECT_EQ(policy->FindDomainSource("gmail.com", "ip2")->options.max_message_rate,
            *RateSpec::Parse("500/day"));
  EXPECT_EQ(policy->block_count(), 5u);
}

TEST(ShapingPolicyFile, EveryRuleForm) {
  auto policy = ParseShapingPolicy(R"toml(
[[default.automation]]
regex = 'timed out'
action = "bounce"
match_internal = true
[[site."MX2.Example.net., mx1.example.net".automation]]
regex = ['^451 ']
action = [{ set = { max_message_rate = "100/h", connection_limit = 2 }, for = "2h" }, "bounce"]
trigger = { threshold = "10/5m" }
ramp_up = "4 steps over 1h"
[domain."Example.COM"]
[[domain."Example.COM".automation]]
regex = ['x']
action = { suspend = "1h" }
)toml",
                                   "p.toml");
  ASSERT_TRUE(policy.ok()) << policy.status();
  ASSERT_EQ(policy->default_block().automation.size(), 1u);
  EXPECT_TRUE(policy->default_block().automation[0].match_internal);
  EXPECT_EQ(policy->default_block().automation[0].actions[0].kind, AutomationAction::Kind::kBounce);

  const DestinationBlock* site = policy->FindSite("mx1.example.net,mx2.example.net");
  ASSERT_NE(site, nullptr);
  ASSERT_EQ(site->automation.size(), 1u);
  const AutomationRuleSpec& rule = site->automation[0];
  EXPECT_EQ(rule.scope, AutomationRuleSpec::Scope::kSite);
  EXPECT_EQ(rule.scope_name, "mx1.example.net,mx2.example.net");
  ASSERT_EQ(rule.actions.size(), 2u);
  EXPECT_EQ(rule.actions[0].kind, AutomationAction::Kind::kSet);
  EXPECT_EQ(rule.actions[0].duration, absl::Hours(2));
  EXPECT_EQ(rule.actions[0].options.max_message_rate, *RateSpec::Parse("100/h"));
  EXPECT_EQ(rule.actions[0].options.connection_limit, 2u);
  EXPECT_EQ(rule.actions[1].kind, AutomationAction::Kind::kBounce);
  ASSERT_TRUE(rule.threshold.has_value());
  EXPECT_EQ(rule.threshold->count, 10u);
  EXPECT_EQ(rule.threshold->period, absl::Minutes(5));
  EXPECT_EQ(rule.ramp_up, (RampUpSpec{4, absl::Hours(1)}));

  const DestinationBlock* domain = policy->FindDomain("example.com");
  ASSERT_NE(domain, nullptr);
  ASSERT_EQ(domain->automation.size(), 1u);
  EXPECT_EQ(domain->automation[0].scope_name, "example.com");
  EXPECT_EQ(domain->automation[0].actions[0].duration, absl::Hours(1));
}

struct Malformed {
  const char* what;
  const char* text;
  const char* expected;  // "p.toml:LINE: KEY" must appear in the message
};

TEST(ShapingPolicyFile, EveryMalformedFileNamesFileLineAndKey) {
  const Malformed cases[] = {
      {"syntax", "[default]\nconnection_limit = \n", "p.toml:2:"},
      {"unclosed table", "[default\n", "p.toml:1:"},
      {"bad header character", "[*default]\n", "p.toml:1:2: syntax error"},
      {"non-ASCII outside a comment", "[domain.\"\xc3\xa9.com\"]\n",
       "p.toml:1:10: syntax error: non-ASCII text is allowed only in comments"},
      {"control character", "[default]\nconnection_limit = 1\x01\n",
       "p.toml:2:21: syntax error: a control character"},
      {"unknown top table", "[defaults]\nx = 1\n", "p.toml:1: defaults: unknown table"},
      {"top key not a table", "connection_limit = 3\n", "p.toml:1: connection_limit: must be"},
      {"unknown block key", "[default]\nconection_limit = 3\n",
       "p.toml:2: default.conection_limit: unknown key"},
      {"unknown provider key", "[provider.g]\nmatch = [{ mx_suffix = 'g.com' }]\nfoo = 1\n",
       "p.toml:3: provider.g.foo: unknown key"},
      {"unknown source key", "[source.ip1]\nautomation = []\n",
       "p.toml:2: source.ip1.automation: unknown key"},
      {"unknown rule key", "[[default.automation]]\nregex = 'x'\naction = 'bounce'\nwhen = 'now'\n",
       "p.toml:4: default.automation.when: unknown key"},
      {"unknown action key", "[[default.automation]]\nregex = 'x'\naction = [{ pause = '1m' }]\n",
       "p.toml:3: default.automation.action.pause: unknown key"},
      {"unknown set option",
       "[[default.automation]]\nregex = 'x'\naction = [{ set = { speed = 1 }, for = '1h' }]\n",
       "p.toml:3: default.automation.action.set.speed: unknown key"},
      {"bad rate", "[domain.\"example.com\"]\nmax_message_rate = '600/mn'\n",
       "p.toml:2: domain.\"example.com\".max_message_rate: bad rate '600/mn'"},
      {"zero burst", "[default]\n\nmax_connection_rate = '5/s,max_burst=0'\n",
       "p.toml:3: default.max_connection_rate: bad rate"},
      {"negative", "[default]\nconnection_limit = -1\n",
       "p.toml:2: default.connection_limit: must be a whole number from 1 to 100000"},
      {"zero", "[default]\nmax_deliveries_per_connection = 0\n",
       "p.toml:2: default.max_deliveries_per_connection: must be"},
      {"too large", "[default]\nconnection_limit = 100001\n", "p.toml:2: default.connection_limit"},
      {"wrong type", "[default]\nmax_message_rate = 100\n",
       "p.toml:2: default.max_message_rate: must be a string"},
      {"bad duration", "[default]\nmax_queue_lifetime = '5 days'\n",
       "p.toml:2: default.max_queue_lifetime: bad duration"},
      {"negative duration", "[default]\nconnection_failure_delay = '-1m'\n",
       "p.toml:2: default.connection_failure_delay:"},
      {"bad retry schedule", "[default]\nretry_schedule = '1m,soon'\n",
       "p.toml:2: default.retry_schedule: retry schedule step 2"},
      {"unknown provider", "[[provider.yahoo.automation]]\nregex = 'x'\naction = 'bounce'\n",
       "p.toml:1: provider.yahoo: unknown provider"},
      {"empty match list", "[provider.g]\nmatch = []\n", "p.toml:2: provider.g.match: empty"},
      {"bad match entry", "[provider.g]\nmatch = [{ host = 'x' }]\n",
       "p.toml:2: provider.g.match.host: unknown key"},
      {"bad suffix", "[provider.g]\nmatch = [{ mx_suffix = 'a b' }]\n",
       "p.toml:2: provider.g.match.mx_suffix: must be a domain name suffix"},
      {"bad regex", "[[default.automation]]\nregex = ['(unclosed']\naction = 'bounce'\n",
       "p.toml:2: default.automation.regex: bad regex '(unclosed'"},
      {"rule without action", "[[default.automation]]\nregex = 'x'\n",
       "p.toml:1: default.automation: a rule needs action"},
      {"rule without regex", "[[default.automation]]\naction = 'bounce'\n",
       "p.toml:1: default.automation: a rule needs regex"},
      {"bad action word", "[[default.automation]]\nregex = 'x'\naction = 'retry'\n",
       "p.toml:3: default.automation.action: an action is"},
      {"set without for",
       "[[default.automation]]\nregex = 'x'\naction = { set = { connection_limit = 1 } }\n",
       "p.toml:3: default.automation.action: set needs for"},
      {"bad trigger", "[[default.automation]]\nregex = 'x'\naction = 'bounce'\ntrigger = 'often'\n",
       "p.toml:4: default.automation.trigger: trigger is"},
      {"bad threshold",
       "[[default.automation]]\nregex = 'x'\naction = 'bounce'\ntrigger = { threshold = '0/5m' }\n",
       "p.toml:4: default.automation.trigger.threshold: bad rate"},
      {"bad ramp", "[[default.automation]]\nregex = 'x'\naction = 'bounce'\nramp_up = 'slowly'\n",
       "p.toml:4: default.automation.ramp_up: ramp_up is"},
      {"automation not a list", "[default]\nautomation = 'x'\n",
       "p.toml:2: default.automation: must be a list"},
      {"bad domain", "[domain.\"exa mple.com\"]\nconnection_limit = 1\n",
       "p.toml:1: domain.\"exa mple.com\": not a domain name"},
      {"bad site", "[site.\",,\"]\nconnection_limit = 1\n", "p.toml:1: site.\",,\": a site is"},
      {"duplicate domain", "[domain.\"a.com\"]\nconnection_limit = 1\n[domain.\"A.com\"]\n",
       ": the same domain is named twice"},
      {"bad source name", "[source.\"ip 1\"]\nconnection_limit = 1\n",
       "p.toml:1: source.\"ip 1\": a source name"},
  };
  for (const Malformed& c : cases) {
    auto policy = ParseShapingPolicy(c.text, "p.toml");
    ASSERT_FALSE(policy.ok()) << c.what;
    EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument) << c.what;
    EXPECT_NE(policy.status().message().find(c.expected), absl::string_view::npos)
        << c.what << ": " << policy.status().message();
  }
}

TEST(ShapingPolicyFile, NonAsciiCommentsAndEscapesAreFine) {
  auto policy = ParseShapingPolicy(
      "# Jos\xc3\xa9's policy\n[default] # \xc3\xbc\nconnection_limit = 1 # ok \xe2\x9c\x93\n"
      "[[default.automation]]\nregex = ['caf\\x{e9}', \"\\u00e9t\\u00e9\"] # '\xc3\xa9\n"
      "action = 'bounce'\n",
      "p.toml");
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(policy->default_block().automation[0].regex[1], "\xc3\xa9t\xc3\xa9");
  // "#" inside a string is not a comment: the non-ASCII after it is refused.
  EXPECT_FALSE(ParseShapingPolicy("[[default.automation]]\nregex = '# \xc3\xa9'\n", "p.toml").ok());
  const std::string nul("[default]\0\n", 11);
  auto with_nul = ParseShapingPolicy(nul, "p.toml");
  ASSERT_FALSE(with_nul.ok());
  EXPECT_NE(with_nul.status().message().find("p.toml:1:10: syntax error: a control character"),
            absl::string_view::npos);
}

TEST(ShapingPolicyFile, SyntaxErrorIsOneLine) {
  auto policy = ParseShapingPolicy("[default]\nconnection_limit = tr\nue\n", "p.toml");
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.status().message().find('\n'), absl::string_view::npos)
      << policy.status().message();
  EXPECT_EQ(policy.status().message().rfind("p.toml:2:", 0), 0u) << policy.status().message();
}

TEST(ShapingPolicyFile, ListsEveryProblemOnePerLineInLineOrder) {
  auto policy = ParseShapingPolicy(R"toml([source.ip1]
max_message_rate = "fast"
[default]
connection_limit = 0
max_message_rate = "1/s"
bogus = true
[provider.p]
match = []
)toml",
                                   "p.toml");
  ASSERT_FALSE(policy.ok());
  const std::vector<std::string> lines = absl::StrSplit(policy.status().message(), '\n');
  ASSERT_EQ(lines.size(), 4u) << policy.status().message();
  EXPECT_EQ(lines[0].rfind("p.toml:2: source.ip1.max_message_rate: ", 0), 0u) << lines[0];
  EXPECT_EQ(lines[1].rfind("p.toml:4: default.connection_limit: ", 0), 0u) << lines[1];
  EXPECT_EQ(lines[2].rfind("p.toml:6: default.bogus: ", 0), 0u) << lines[2];
  EXPECT_EQ(lines[3].rfind("p.toml:8: provider.p.match: ", 0), 0u) << lines[3];
}

struct Range {
  const char* key;
  const char* value;
  bool ok;
};

TEST(ShapingPolicyFile, EveryOptionsRange) {
  const Range cases[] = {
      {"connection_limit", "1", true},
      {"connection_limit", "100000", true},
      {"connection_limit", "0", false},
      {"connection_limit", "100001", false},
      {"connection_limit", "-5", false},
      {"connection_limit", "1.5", false},
      {"connection_limit", "'5'", false},
      {"connection_limit", "9223372036854775807", false},
      {"max_message_rate", "'1/day'", true},
      {"max_message_rate", "'1000000000/s'", true},
      {"max_message_rate", "'1000000001/s'", false},
      {"max_message_rate", "'0/s'", false},
      {"max_message_rate", "'5/s,max_burst=0'", false},
      {"max_connection_rate", "'100/s'", true},
      {"max_connection_rate", "'-1/s'", false},
      {"max_connection_rate", "true", false},
      {"max_deliveries_per_connection", "1", true},
      {"max_deliveries_per_connection", "1000000", true},
      {"max_deliveries_per_connection", "1000001", false},
      {"max_deliveries_per_connection", "0", false},
      {"retry_schedule", "'1m,5m,1h,1d'", true},
      {"retry_schedule", "''", false},
      {"retry_schedule", "'0s'", false},
      {"retry_schedule", "['1m']", false},
      {"max_queue_lifetime", "'5d'", true},
      {"max_queue_lifetime", "'30s'", true},
      {"max_queue_lifetime", "'0s'", false},
      {"max_queue_lifetime", "'-1h'", false},
      {"max_queue_lifetime", "'3651d'", false},
      {"max_queue_lifetime", "5", false},
      {"consecutive_connection_failures_before_delay", "1", true},
      {"consecutive_connection_failures_before_delay", "1000", true},
      {"consecutive_connection_failures_before_delay", "1001", false},
      {"consecutive_connection_failures_before_delay", "0", false},
      {"connection_failure_delay", "'1m'", true},
      {"connection_failure_delay", "'0s'", false},
      {"connection_failure_delay_max", "'1h'", true},
      {"connection_failure_delay_max", "'never'", false},
  };
  for (const Range& c : cases) {
    for (const char* block :
         {"[default]", "[provider.p]\nmatch = [{ mx_suffix = 'p.net' }]", "[site.\"mx.p.net\"]",
          "[domain.\"p.net\"]", "[source.ip1]", "[domain.\"p.net\".source.ip1]"}) {
      const std::string text = absl::StrCat(block, "\n", c.key, " = ", c.value, "\n");
      auto policy = ParseShapingPolicy(text, "p.toml");
      EXPECT_EQ(policy.ok(), c.ok) << text << (policy.ok() ? "" : policy.status().message());
      if (!policy.ok()) {
        EXPECT_NE(policy.status().message().find(c.key), absl::string_view::npos)
            << policy.status().message();
      }
    }
    // The same option inside an automation rule's set.
    const std::string in_set =
        absl::StrCat("[[default.automation]]\nregex = 'x'\naction = { set = { ", c.key, " = ",
                     c.value, " }, for = '1h' }\n");
    EXPECT_EQ(ParseShapingPolicy(in_set, "p.toml").ok(), c.ok) << in_set;
  }
}

TEST(ShapingPolicyFile, RuleBounds) {
  std::string regexes = "[[default.automation]]\naction = 'bounce'\nregex = [";
  for (size_t i = 0; i < AutomationRuleSpec::kRegexesMax; ++i) absl::StrAppend(&regexes, "'a',");
  EXPECT_TRUE(ParseShapingPolicy(regexes + "]\n", "p.toml").ok());
  auto too_many = ParseShapingPolicy(regexes + "'a']\n", "p.toml");
  ASSERT_FALSE(too_many.ok());
  EXPECT_NE(too_many.status().message().find("p.toml:3: default.automation.regex: needs 1 to 64"),
            absl::string_view::npos)
      << too_many.status().message();
  EXPECT_FALSE(
      ParseShapingPolicy("[[default.automation]]\nregex = []\naction = 'bounce'\n", "p.toml").ok());
  const std::string long_regex(2000, 'a');
  EXPECT_FALSE(ParseShapingPolicy(absl::StrCat("[[default.automation]]\nregex = '", long_regex,
                                               "'\naction = 'bounce'\n"),
                                  "p.toml")
                   .ok());
}

TEST(ShapingPolicyFile, SizeAndBlockBounds) {
  const std::string huge(kShapingPolicyBytesMax + 1, '#');
  auto too_big = ParseShapingPolicy(huge, "p.toml");
  ASSERT_FALSE(too_big.ok());
  EXPECT_NE(too_big.status().message().find("p.toml: larger than"), absl::string_view::npos);

  std::string many;
  for (size_t i = 0; i <= ShapingPolicy::kBlocksMax; ++i) {
    absl::StrAppend(&many, "[domain.d", i, "]\nconnection_limit=1\n");
  }
  ASSERT_LE(many.size(), kShapingPolicyBytesMax);
  auto too_many = ParseShapingPolicy(many, "p.toml");
  ASSERT_FALSE(too_many.ok());
  EXPECT_NE(too_many.status().message().find("more than 100000 blocks"), absl::string_view::npos)
      << too_many.status().message().substr(0, 500);
}

TEST(ShapingPolicyFile, ProblemsAreCapped) {
  std::string text = "[default]\n";
  for (int i = 0; i < 1000; ++i) absl::StrAppend(&text, "bad", i, " = 1\n");
  auto policy = ParseShapingPolicy(text, "p.toml");
  ASSERT_FALSE(policy.ok());
  const std::vector<std::string> lines = absl::StrSplit(policy.status().message(), '\n');
  EXPECT_EQ(lines.size(), kProblemsReportedMax + 1);
  EXPECT_EQ(lines.back(), absl::StrCat("... and ", 1000 - kProblemsReportedMax, " more problems"));
}

TEST(ShapingPolicyFile, ValidateNamesUnknownSources) {
  auto policy = ParseShapingPolicy(R"toml([source.ip1]
connection_limit = 5
[source.ip9]
connection_limit = 5
[domain."gmail.com".source.ip8]
max_message_rate = "500/day"
)toml",
                                   "p.toml");
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_TRUE(policy->Validate({"ip1", "ip8", "ip9"}).ok());
  const absl::Status status = policy->Validate({"ip1"});
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  const std::vector<std::string> lines = absl::StrSplit(status.message(), '\n');
  ASSERT_EQ(lines.size(), 2u) << status.message();
  EXPECT_EQ(lines[0].rfind("p.toml:3: source.ip9: 'ip9' is not an egress source", 0), 0u)
      << lines[0];
  EXPECT_EQ(lines[1].rfind("p.toml:5: domain.\"gmail.com\".source.ip8: 'ip8' is not", 0), 0u)
      << lines[1];
}

TEST(ShapingPolicyFile, LoadReadsAFileAndNamesIt) {
  auto missing = LoadShapingPolicy("/nonexistent/shaping.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nonexistent/shaping.toml"), absl::string_view::npos);
}

TEST(ShapingPolicyFile, DeployExampleParses) {
  const std::string path = std::string(TERN_SOURCE_DIR) + "/deploy/shaping.example.toml";
  auto policy = LoadShapingPolicy(path);
  ASSERT_TRUE(policy.ok()) << policy.status();
  for (const char* provider : {"google", "microsoft", "yahoo", "apple"}) {
    const ProviderBlock* block = policy->FindProvider(provider);
    ASSERT_NE(block, nullptr) << provider;
    EXPECT_FALSE(block->automation.empty()) << provider;
  }
}

}  // namespace
}  // namespace tern::queue
