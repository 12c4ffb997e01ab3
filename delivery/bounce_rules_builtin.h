// The built-in bounce rules: the phrases of the big receivers (Gmail, Outlook.com and
// Exchange Online, Yahoo/AOL, iCloud, GMX/web.de, Comcast, Mimecast, Proofpoint, Barracuda,
// Yandex, mail.ru, ...), of the common MTAs (Postfix, Exim, Exchange on premises), and of
// Tern's own failures, each deciding a BounceClass. Tried after the operator's rules (see
// delivery/bounce_classifier.h); every rule is exercised by a real reply in
// tests/delivery/data/bounce_replies.tsv.
//
//   const BounceRuleSet& builtin = BuiltinBounceRules();  // parsed once, never fails
#pragma once

#include "delivery/bounce_rules.h"

namespace tern::delivery {

// The rules, in the order they are tried; parsed on first use from TOML embedded in the
// .cc with the operator's parser (a rule that does not parse stops the process at once).
const BounceRuleSet& BuiltinBounceRules();

// The embedded TOML text, for ternctl to show and for tests.
absl::string_view BuiltinBounceRulesText();

}  // namespace tern::delivery
