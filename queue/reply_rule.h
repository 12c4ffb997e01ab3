// ReplyRule: one automation rule of the shaping policy ([[provider.NAME.automation]] and
// the like), in plain form: the policy reader maps its parsed blocks onto this, and
// ReplyRuleMatcher (queue/reply_rule_matcher.h) compiles a list of them. A rule matches a
// remote reply when any of its regexes matches "CODE ENHANCED TEXT" (e.g. "421 4.7.28 Our
// system has detected an unusual rate ..."); failures Tern makes itself (connect refused,
// timeouts) match only rules with match_internal. Its trigger fires at once or when
// `count` matches fall within `period` (queue/event_window.h); its actions then suspend the
// source→site pair, set shaping options for a while, or bounce the message with the reply;
// ramp_up says how the limits come back afterwards (queue/ramp_up.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/time/time.h"
#include "queue/ramp_up.h"
#include "queue/shaping_options.h"

namespace tern::queue {

struct ReplyRule {
  struct Immediate {
    bool operator==(const Immediate&) const = default;
  };
  struct Threshold {
    uint32_t count = 1;                        // fires at this many matches ...
    absl::Duration period = absl::Minutes(1);  // ... within this long
    bool operator==(const Threshold&) const = default;
  };
  struct Suspend {
    absl::Duration duration;
    bool operator==(const Suspend&) const = default;
  };
  struct SetOptions {
    ShapingOptions options;
    absl::Duration duration;
    bool operator==(const SetOptions&) const = default;
  };
  struct Bounce {
    bool operator==(const Bounce&) const = default;
  };
  using Trigger = std::variant<Immediate, Threshold>;
  using Action = std::variant<Suspend, SetOptions, Bounce>;

  // Where the rule comes from, for "why" texts and logs: "provider.google.automation[0]".
  std::string name;
  std::vector<std::string> regex;  // RE2 syntax, unanchored (use ^ to anchor)
  bool match_internal = false;
  Trigger trigger = Immediate{};
  std::vector<Action> actions;
  std::optional<RampUp> ramp_up;
};

}  // namespace tern::queue
