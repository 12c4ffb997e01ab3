// Implementation of delivery/bounce_classifier.h.
#include "delivery/bounce_classifier.h"

#include <atomic>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "core/log.h"
#include "delivery/bounce_rules_builtin.h"
#include "delivery/enhanced_code_class.h"
#include "re2/set.h"

namespace tern::delivery {
namespace {

// RE2's budget for the whole set (program and DFA cache). The built-in rules need far less;
// an operator's ten thousand rules may need this much, and Create says so if not.
constexpr int64_t kRuleSetMemoryBytesMax = 64 << 20;

RE2::Options RuleOptions() {
  RE2::Options options;
  options.set_case_sensitive(false);
  options.set_log_errors(false);
  options.set_max_mem(kRuleSetMemoryBytesMax);
  return options;
}

}  // namespace

struct BounceClassifier::Matcher {
  explicit Matcher(const RE2::Options& options) : set(options, RE2::UNANCHORED) {}
  RE2::Set set;
};

BounceClassifier::~BounceClassifier() = default;

absl::StatusOr<std::shared_ptr<const BounceClassifier>> BounceClassifier::Create(
    const BounceRuleSet* operator_rules) {
  std::shared_ptr<BounceClassifier> classifier(new BounceClassifier());
  if (operator_rules != nullptr) classifier->rules_ = operator_rules->rules;
  if (operator_rules == nullptr || operator_rules->use_builtin) {
    const std::vector<BounceRule>& builtin = BuiltinBounceRules().rules;
    classifier->rules_.insert(classifier->rules_.end(), builtin.begin(), builtin.end());
  }
  if (classifier->rules_.empty()) return std::shared_ptr<const BounceClassifier>(classifier);
  auto matcher = std::make_unique<Matcher>(RuleOptions());
  RE2::Set* set = &matcher->set;
  for (const BounceRule& rule : classifier->rules_) {
    std::string error;
    if (set->Add(rule.pattern, &error) < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("bounce rule ", rule.name, ": bad regular expression: ", error));
    }
  }
  if (!set->Compile()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bounce rules: ", classifier->rules_.size(), " rules together are too large for RE2 (",
        kRuleSetMemoryBytesMax >> 20, " MiB): fewer or simpler rules"));
  }
  classifier->matcher_ = std::move(matcher);
  return std::shared_ptr<const BounceClassifier>(classifier);
}

std::shared_ptr<const BounceClassifier> BounceClassifier::Builtin() {
  // Built on first use; the built-in rules always compile (tests/delivery checks them).
  static const auto* const kBuiltin = [] {
    absl::StatusOr<std::shared_ptr<const BounceClassifier>> made = Create(nullptr);
    CHECK(made.ok());
    return new std::shared_ptr<const BounceClassifier>(*std::move(made));
  }();
  return *kBuiltin;
}

int BounceClassifier::FirstMatchingRule(absl::string_view reply) const {
  if (matcher_ == nullptr) return -1;
  // Reused by every call on this thread: no allocation per reply once it has grown.
  thread_local std::vector<int> matched;
  RE2::Set::ErrorInfo error{};
  const absl::string_view text = reply.substr(0, kBounceReplyBytesMatched);
  if (!matcher_->set.Match(re2::StringPiece(text.data(), text.size()), &matched, &error)) {
    // Out of DFA memory (a huge operator rule set): the code table decides; said once.
    static std::atomic<bool> said{false};
    if (error.kind != RE2::Set::kNoError && !said.exchange(true)) {
      TERN_LOG(kWarning, "bounce rules not applied to a reply (RE2::Set error %d)",
               static_cast<int>(error.kind));
    }
    return -1;
  }
  int first = -1;
  for (int index : matched) {
    if (first < 0 || index < first) first = index;
  }
  return first;
}

BounceClass BounceClassifier::Classify(int code, absl::string_view enhanced,
                                       absl::string_view reply) const {
  const int rule = FirstMatchingRule(reply);
  if (rule >= 0) return rules_[static_cast<size_t>(rule)].bounce_class;
  if (enhanced.empty()) enhanced = FindEnhancedCode(reply.substr(0, kBounceReplyBytesMatched));
  (void)code;
  return ClassOfEnhancedCode(enhanced).value_or(BounceClass::kOther);
}

BounceClassifier::Verdict BounceClassifier::Explain(int code, absl::string_view enhanced,
                                                    absl::string_view reply) const {
  const int rule = FirstMatchingRule(reply);
  if (rule >= 0) {
    const BounceRule& r = rules_[static_cast<size_t>(rule)];
    return {r.bounce_class, absl::StrCat("rule ", r.name)};
  }
  absl::string_view where = "";
  if (enhanced.empty()) {
    enhanced = FindEnhancedCode(reply.substr(0, kBounceReplyBytesMatched));
    where = " in the text";
  }
  if (std::optional<BounceClass> c = ClassOfEnhancedCode(enhanced)) {
    return {*c, absl::StrCat("enhanced code ", enhanced, where)};
  }
  return {BounceClass::kOther, absl::StrCat("reply code ", code / 100 % 10, "xx")};
}

}  // namespace tern::delivery
