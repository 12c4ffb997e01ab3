// ShapingOverride: one live reaction held by ShapingOverrides (queue/shaping_overrides.h):
// a source→scope pair suspended, or given other shaping options (`set`), until a moment,
// then ramping back (queue/ramp_up.h). Plain data, also what the state file stores
// (queue/shaping_state_file.h) and what `ternctl shaping` lists.
#pragma once

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "queue/ramp_up.h"
#include "queue/shaping_options.h"

namespace tern::queue {

struct ShapingOverride {
  enum class Kind { kSuspend, kSet };
  // Bounds on the texts (longer ones are cut when stored).
  static constexpr size_t kKeyBytesMax = 512;     // source, scope
  static constexpr size_t kReasonBytesMax = 512;  // reason, cause

  std::string source;  // egress source name; "" = every source
  std::string scope;   // scope key ("provider:google", "site:...", "domain:example.com")
  Kind kind = Kind::kSuspend;
  absl::Time until = absl::UnixEpoch();  // the suspension or the `set` ends
  ShapingOptions options;                // kSet: laid over the configured options
  std::optional<RampUp> ramp_up;         // after `until`, rates come back in steps
  std::string reason;                    // the reply that triggered it, or the operator's text
  std::string cause;                     // the rule's name, or "operator"

  // When the entry has nothing more to say: the end of its ramp, or `until`.
  absl::Time end() const { return ramp_up.has_value() ? until + ramp_up->over : until; }
  bool operator==(const ShapingOverride&) const = default;
};

absl::string_view KindName(ShapingOverride::Kind kind);

}  // namespace tern::queue
