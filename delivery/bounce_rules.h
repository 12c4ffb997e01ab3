// The operator's bounce rules (--bounce_rules=FILE, TOML): regular expressions on a remote
// reply that decide its BounceClass (delivery/bounce_class.h) before the built-in rules and
// the enhanced-code table do. The BounceClassifier (delivery/bounce_classifier.h) runs them.
//
//   # Tern bounce rules (--bounce_rules=FILE). Rules are tried in order, before the
//   # built-in ones; the first that matches decides.
//   use_builtin = true            # false: only these rules, then the enhanced-code table
//   [[rule]]
//   name = "acme-mailbox-gone"    # optional, for ternctl/log explanations; default "FILE:LINE"
//   class = "inactive-mailbox"    # one of the 14 names of delivery/bounce_class.h
//   match = 'mailbox (has been )?disabled'
//
// `match` is RE2 syntax, case-insensitive, unanchored, tried on the reply as Tern stores it:
// "CODE ENHANCED TEXT" on one line (a multi-line reply joined by single spaces), at most
// kBounceReplyBytesMatched bytes of it. Write it as a TOML literal string ('...') so that
// backslashes reach RE2 as written. Strings are ASCII ("\u00e9" in TOML, "\x{e9}" in RE2).
//
//   absl::StatusOr<BounceRuleSet> rules = ReadBounceRulesFile("/etc/tern/bounce.toml");
//   if (!rules.ok()) { print(rules.status().message()); }  // one problem a line:
//   // bounce.toml:7: rule.class: unknown class 'bad-mailbx' (known: bad-mailbox, ...)
//   // bounce.toml:9: rule.match: bad regular expression: missing ): mailbox (gone
//
// Nothing is half-read: any problem refuses the whole file (InvalidArgument listing at most
// kBounceRuleProblemsMax problems, each naming the origin and line).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "delivery/bounce_class.h"

namespace tern::delivery {

inline constexpr size_t kBounceRulesFileBytesMax = 1 << 20;  // 1 MiB
inline constexpr size_t kBounceRulesMax = 10'000;
inline constexpr size_t kBouncePatternBytesMax = 4 << 10;  // 4 KiB
inline constexpr size_t kBounceRuleNameBytesMax = 128;
inline constexpr size_t kBounceRuleProblemsMax = 100;
// Bytes of a reply the rules look at (the classifier cuts longer replies).
inline constexpr size_t kBounceReplyBytesMatched = 2 << 10;  // 2 KiB

struct BounceRule {
  std::string name;     // "gmail-no-such-user", or "FILE:LINE" when the file names none
  std::string pattern;  // RE2 syntax; compiled case-insensitive, unanchored
  BounceClass bounce_class = BounceClass::kOther;
};

struct BounceRuleSet {
  std::vector<BounceRule> rules;  // in file order: the first that matches decides
  bool use_builtin = true;        // false: no built-in rules after these
};

// Parses `toml_text`; `origin` (a file name, "builtin") is what messages and default rule
// names call it. Every pattern is compiled once with RE2 to check it.
absl::StatusOr<BounceRuleSet> ParseBounceRules(absl::string_view toml_text,
                                               absl::string_view origin);

// Reads `path` (at most kBounceRulesFileBytesMax bytes) and parses it; errors name the path.
absl::StatusOr<BounceRuleSet> ReadBounceRulesFile(const std::string& path);

}  // namespace tern::delivery
