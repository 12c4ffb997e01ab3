// ReplyRuleMatcher (queue/reply_rule_matcher.h): any regex of a rule matches, unanchored
// unless the regex says ^; internal failures only for match_internal rules; bad regexes are
// refused naming the rule.
#include "queue/reply_rule_matcher.h"

#include "gtest/gtest.h"

namespace tern::queue {
namespace {

ReplyRule Rule(std::string name, std::vector<std::string> regex, bool match_internal = false) {
  ReplyRule rule;
  rule.name = std::move(name);
  rule.regex = std::move(regex);
  rule.match_internal = match_internal;
  return rule;
}

std::unique_ptr<ReplyRuleMatcher> Make(std::vector<ReplyRule> rules) {
  auto matcher = ReplyRuleMatcher::Create(std::move(rules));
  EXPECT_TRUE(matcher.ok()) << matcher.status();
  return matcher.ok() ? std::move(*matcher) : nullptr;
}

TEST(ReplyRuleMatcher, ProviderReplies) {
  auto m = Make({
      Rule("google", {R"(^421 4\.7\.28 )", "unusual rate"}),
      Rule("outlook", {R"(^451 4\.7\.650 )"}),
      Rule("yahoo", {R"(^421 4\.7\.0 \[TS0[1-4]\])"}),
      Rule("any-421", {"^421 "}),
  });
  ASSERT_NE(m, nullptr);
  struct Case {
    const char* reply;
    std::vector<size_t> rules;
  };
  const Case cases[] = {
      {"421 4.7.28 Our system has detected an unusual rate of unsolicited mail", {0, 3}},
      {"450 4.2.1 The user you are trying to contact is receiving mail at an unusual rate", {0}},
      {"451 4.7.650 The mail server [1.2.3.4] has been temporarily rate limited", {1}},
      {"421 4.7.0 [TS04] Messages from 1.2.3.4 temporarily deferred", {2, 3}},
      {"421 4.7.0 [TS05] something else", {3}},
      {"250 2.0.0 OK", {}},
      {"", {}},
      {"4214.7.28 no space", {}},
  };
  for (const Case& c : cases) EXPECT_EQ(m->Match(c.reply, false), c.rules) << c.reply;
}

TEST(ReplyRuleMatcher, InternalFailuresMatchOnlyMatchInternalRules) {
  auto m = Make({Rule("remote-only", {"timed out"}), Rule("both", {"timed out"}, true)});
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->Match("421 4.4.2 connect to 10.0.0.1:25 timed out", true), std::vector<size_t>{1});
  EXPECT_EQ(m->Match("421 4.4.2 connect to 10.0.0.1:25 timed out", false),
            (std::vector<size_t>{0, 1}));
}

TEST(ReplyRuleMatcher, BadRulesAreRefusedNamingThem) {
  auto bad = ReplyRuleMatcher::Create({Rule("provider.google.automation[1]", {"ok", "(unclosed"})});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("provider.google.automation[1]"), std::string::npos);
  EXPECT_NE(bad.status().message().find("(unclosed"), std::string::npos);
  EXPECT_FALSE(ReplyRuleMatcher::Create({Rule("empty", {})}).ok());
  EXPECT_FALSE(ReplyRuleMatcher::Create(
                   {Rule("long", {std::string(ReplyRuleMatcher::kRegexBytesMax + 1, 'a')})})
                   .ok());
}

TEST(ReplyRuleMatcher, NoRulesMatchesNothingAndHostileRepliesAreFine) {
  auto none = Make({});
  ASSERT_NE(none, nullptr);
  EXPECT_TRUE(none->Match("421 4.7.28 x", false).empty());
  auto m = Make({Rule("nested", {"(a+)+b"}), Rule("bytes", {"\xff\xfe"})});
  ASSERT_NE(m, nullptr);
  // Catastrophic for a backtracking engine, linear for RE2; bytes that are not UTF-8 too.
  EXPECT_TRUE(m->Match(std::string(100'000, 'a'), false).empty());
  EXPECT_EQ(m->Match("550 \xff\xfe\x80", false), std::vector<size_t>{1});
  // Only the first kReplyBytesMax bytes are looked at.
  EXPECT_TRUE(m->Match(std::string(ReplyRuleMatcher::kReplyBytesMax, 'a') + "b", false).empty());
}

}  // namespace
}  // namespace tern::queue

namespace tern::queue {
namespace {

TEST(ReplyRuleMatcher, KeepsEachRuleWhole) {
  ReplyRule rule = Rule("provider.google.automation[0]", {"unusual rate"});
  ShapingOptions slow;
  slow.max_message_rate = RateSpec{100, absl::Hours(1), 100};
  rule.trigger = ReplyRule::Threshold{10, absl::Minutes(5)};
  rule.actions = {ReplyRule::Suspend{absl::Minutes(30)},
                  ReplyRule::SetOptions{slow, absl::Hours(2)}, ReplyRule::Bounce{}};
  rule.ramp_up = RampUp{4, absl::Hours(1)};
  const ReplyRule copy = rule;
  auto m = Make({rule});
  ASSERT_NE(m, nullptr);
  ASSERT_EQ(m->size(), 1u);
  EXPECT_EQ(m->rule(0).name, copy.name);
  EXPECT_EQ(m->rule(0).actions, copy.actions);
  EXPECT_EQ(m->rule(0).trigger, copy.trigger);
  EXPECT_EQ(m->rule(0).ramp_up, copy.ramp_up);
}

}  // namespace
}  // namespace tern::queue
