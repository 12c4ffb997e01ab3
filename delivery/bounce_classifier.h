// BounceClassifier: the BounceClass (delivery/bounce_class.h) of one deferral, bounce or
// expiry, from the reply as Tern stores it ("CODE ENHANCED TEXT" on one line), its reply
// code and its enhanced status code (may be empty). Tern's own failures ("451 4.4.1 connect
// to ...: Connection refused", "550 5.1.2 DNS MX lookup of ...: NXDOMAIN ...") go through
// it the same way.
//
//   auto rules = ReadBounceRulesFile(path);                 // or no operator rules: nullptr
//   auto classifier = BounceClassifier::Create(&*rules);    // once, shared by every shard
//   (*classifier)->Classify(550, "5.7.1", reply);           // BounceClass::kSpamRelated
//   (*classifier)->Explain(550, "5.7.1", reply).reason;     // "rule spamhaus-listed"
//
// Precedence: the regular-expression rules first — the operator's in file order, then the
// built-in ones (delivery/bounce_rules_builtin.h) unless the operator's file says
// use_builtin = false — the first that matches decides; then the enhanced code's class
// (delivery/enhanced_code_class.h), taken from `enhanced` or, when that is empty, found in
// the text ("(#5.1.1)"); then kOther.
//
// Why the words before the code: servers put wrong or generic enhanced codes on their
// replies, and the phrase is the reliable part. Gmail says 5.7.1 for spam, policy and
// authentication alike; Outlook.com says 5.5.0 for an unknown mailbox ("Requested action
// not taken: mailbox unavailable") and Exchange Online 5.4.1 ("Recipient address rejected:
// Access denied", a directory miss); Yahoo says 5.7.9 for DMARC and uses none for its "dd
// This user doesn't have a yahoo.com account"; GMX and web.de send no enhanced code at all;
// block lists answer 5.7.1, 5.7.0 or 5.0.0 depending on who runs them.
//
// All rules are one RE2::Set, matched once over at most kBounceReplyBytesMatched bytes of the
// reply: the cost is one linear pass whatever the number of rules; the lowest-numbered rule
// that matches wins. Immutable after Create; RE2 matching on a const object is thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "delivery/bounce_class.h"
#include "delivery/bounce_rules.h"

namespace tern::delivery {

class BounceClassifier {
 public:
  // The operator's rules (may be null) first, then the built-in rules unless use_builtin is
  // false. Fails (InvalidArgument) if a pattern does not compile or the rules together are
  // too large for RE2.
  static absl::StatusOr<std::shared_ptr<const BounceClassifier>> Create(
      const BounceRuleSet* operator_rules);
  // The built-in rules alone (Create(nullptr)), made once and shared; never null.
  static std::shared_ptr<const BounceClassifier> Builtin();

  ~BounceClassifier();
  BounceClassifier(const BounceClassifier&) = delete;
  BounceClassifier& operator=(const BounceClassifier&) = delete;

  BounceClass Classify(int code, absl::string_view enhanced, absl::string_view reply) const;

  struct Verdict {
    BounceClass bounce_class;
    // What decided: "rule gmail-no-such-user", "enhanced code 5.1.1", "enhanced code 5.1.1
    // in the text", "reply code 5xx" (nothing else: kOther).
    std::string reason;
  };
  Verdict Explain(int code, absl::string_view enhanced, absl::string_view reply) const;

  // The rules in the order they are tried.
  const std::vector<BounceRule>& rules() const { return rules_; }
  size_t rule_count() const { return rules_.size(); }

 private:
  BounceClassifier() = default;

  // The index in rules_ of the first rule that matches, or -1.
  int FirstMatchingRule(absl::string_view reply) const;

  struct Matcher;  // the RE2::Set (RE2 stays out of this header)

  std::vector<BounceRule> rules_;
  std::unique_ptr<const Matcher> matcher_;  // null when there are no rules
};

}  // namespace tern::delivery
