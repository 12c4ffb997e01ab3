// ReplyRuleMatcher: a list of automation rules (queue/reply_rule.h) with their regexes
// compiled once (RE2: linear time, no backtracking, so a hostile reply cannot stall a
// shard), matched against one reply. All regexes of all rules are one RE2::Set, so a reply
// is scanned once whatever the number of rules. Immutable after Create: share it between
// shards (a policy reload makes a new one).
//
//   ASSIGN_OR_RETURN(auto matcher, ReplyRuleMatcher::Create(rules));
//   for (size_t i : matcher->Match("421 4.7.28 Unusual rate of mail", /*internal=*/false)) {
//     const ReplyRule& rule = matcher->rule(i); ...
//   }
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "queue/reply_rule.h"

namespace re2 {
class RE2;
}  // namespace re2

namespace tern::queue {

class ReplyRuleMatcher {
 public:
  static constexpr size_t kRegexBytesMax = 1024;
  static constexpr size_t kRegexesMax = 10'000;
  // Bytes of a reply looked at (a longer one is matched on its start).
  static constexpr size_t kReplyBytesMax = 4096;

  // InvalidArgument naming the rule and the regex for a regex RE2 rejects, an empty regex
  // list, an overlong regex or too many of them.
  static absl::StatusOr<std::unique_ptr<ReplyRuleMatcher>> Create(std::vector<ReplyRule> rules);
  ~ReplyRuleMatcher();

  // The indices of the rules that match `reply` ("CODE ENHANCED TEXT"), ascending.
  // `internal`: a failure Tern made itself (connect refused, timeout), whose text is Tern's;
  // only rules with match_internal are considered.
  std::vector<size_t> Match(absl::string_view reply, bool internal) const;

  const ReplyRule& rule(size_t index) const { return rules_[index]; }
  size_t size() const { return rules_.size(); }

 private:
  struct Compiled;
  ReplyRuleMatcher(std::vector<ReplyRule> rules, std::unique_ptr<Compiled> compiled);

  std::vector<ReplyRule> rules_;
  std::unique_ptr<Compiled> compiled_;
};

}  // namespace tern::queue
