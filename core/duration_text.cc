// Implementation of core/duration_text.h.
#include "core/duration_text.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace tern::core {

absl::StatusOr<absl::Duration> ParsePositiveDuration(absl::string_view text) {
  static constexpr int64_t kDaysMax = 3650;
  text = absl::StripAsciiWhitespace(text);
  // Whole days "5d" (1 to 3650) and weeks "2w" (1 to 521): abseil's syntax has neither.
  if (!text.empty() && (text.back() == 'd' || text.back() == 'w')) {
    const bool weeks = text.back() == 'w';
    const int64_t count_max = weeks ? kDaysMax / 7 : kDaysMax;
    int64_t count = 0;
    if (absl::SimpleAtoi(text.substr(0, text.size() - 1), &count) && count > 0 &&
        count <= count_max) {
      return absl::Hours(24 * count * (weeks ? 7 : 1));
    }
    return absl::InvalidArgumentError(absl::StrCat("bad duration '", text, "' (",
                                                   weeks ? "weeks: 1w to " : "days: 1d to ",
                                                   count_max, weeks ? "w)" : "d)"));
  }
  absl::Duration duration;
  if (!absl::ParseDuration(text, &duration) || duration <= absl::ZeroDuration() ||
      duration == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad duration '", text, "' (examples: 30s, 5m, 1h30m, 5d)"));
  }
  return duration;
}

}  // namespace tern::core
