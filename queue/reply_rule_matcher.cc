// Implementation of queue/reply_rule_matcher.h.
#include "queue/reply_rule_matcher.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "re2/re2.h"
#include "re2/set.h"

namespace tern::queue {

struct ReplyRuleMatcher::Compiled {
  explicit Compiled(const RE2::Options& options) : set(options, RE2::UNANCHORED) {}
  RE2::Set set;
  std::vector<size_t> rule_of_regex;             // RE2::Set index → rule index
  std::vector<std::unique_ptr<RE2>> one_by_one;  // when the Set's DFA runs out of memory
};

namespace {

RE2::Options MatcherOptions() {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_encoding(RE2::Options::EncodingLatin1);  // replies are bytes, not always UTF-8
  return options;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ReplyRuleMatcher>> ReplyRuleMatcher::Create(
    std::vector<ReplyRule> rules) {
  const RE2::Options options = MatcherOptions();
  auto compiled = std::make_unique<Compiled>(options);
  for (size_t i = 0; i < rules.size(); ++i) {
    const ReplyRule& rule = rules[i];
    if (rule.regex.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("automation rule ", rule.name, ": no regex"));
    }
    for (const std::string& pattern : rule.regex) {
      if (pattern.size() > kRegexBytesMax) {
        return absl::InvalidArgumentError(absl::StrCat(
            "automation rule ", rule.name, ": regex longer than ", kRegexBytesMax, " bytes"));
      }
      if (compiled->rule_of_regex.size() >= kRegexesMax) {
        return absl::InvalidArgumentError(
            absl::StrCat("automation rules: more than ", kRegexesMax, " regexes"));
      }
      auto one = std::make_unique<RE2>(pattern, options);
      std::string error;
      if (!one->ok() || compiled->set.Add(pattern, &error) < 0) {
        return absl::InvalidArgumentError(absl::StrCat("automation rule ", rule.name,
                                                       ": bad regex '", pattern,
                                                       "': ", one->ok() ? error : one->error()));
      }
      compiled->rule_of_regex.push_back(i);
      compiled->one_by_one.push_back(std::move(one));
    }
  }
  if (!compiled->rule_of_regex.empty() && !compiled->set.Compile()) {
    return absl::ResourceExhaustedError("automation rules: regexes too large to compile");
  }
  return std::unique_ptr<ReplyRuleMatcher>(
      new ReplyRuleMatcher(std::move(rules), std::move(compiled)));
}

ReplyRuleMatcher::ReplyRuleMatcher(std::vector<ReplyRule> rules, std::unique_ptr<Compiled> compiled)
    : rules_(std::move(rules)), compiled_(std::move(compiled)) {}

ReplyRuleMatcher::~ReplyRuleMatcher() = default;

std::vector<size_t> ReplyRuleMatcher::Match(absl::string_view reply, bool internal) const {
  std::vector<size_t> matched;
  if (compiled_->rule_of_regex.empty()) return matched;
  reply = reply.substr(0, kReplyBytesMax);
  const re2::StringPiece text(reply.data(), reply.size());
  std::vector<int> hits;
  RE2::Set::ErrorInfo error;
  if (!compiled_->set.Match(text, &hits, &error) && error.kind != RE2::Set::kNoError) {
    // The Set's DFA ran out of memory on this input: the regexes one by one instead.
    hits.clear();
    for (size_t r = 0; r < compiled_->one_by_one.size(); ++r) {
      if (RE2::PartialMatch(text, *compiled_->one_by_one[r])) hits.push_back(static_cast<int>(r));
    }
  }
  for (int hit : hits) {
    CHECK_GE(hit, 0);
    CHECK_LT(static_cast<size_t>(hit), compiled_->rule_of_regex.size());
    const size_t rule = compiled_->rule_of_regex[static_cast<size_t>(hit)];
    if (internal && !rules_[rule].match_internal) continue;
    matched.push_back(rule);
  }
  std::sort(matched.begin(), matched.end());
  matched.erase(std::unique(matched.begin(), matched.end()), matched.end());
  return matched;
}

}  // namespace tern::queue
