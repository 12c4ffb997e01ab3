// SizeDistribution: parsing and drawing of --size (size_distribution.h).
#include "tools/tern_bench/size_distribution.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace tern::tools::tern_bench {

absl::StatusOr<size_t> ParseByteSize(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  uint64_t unit = 1;
  if (!text.empty()) {
    const char last = absl::ascii_tolower(text.back());
    if (last == 'k') unit = 1024;
    if (last == 'm') unit = 1024 * 1024;
    if (unit != 1) text.remove_suffix(1);
  }
  uint64_t value = 0;
  const bool digits_only =
      !text.empty() && std::all_of(text.begin(), text.end(), absl::ascii_isdigit);
  if (!digits_only || !absl::SimpleAtoi(text, &value) || value == 0 ||
      value > SizeDistribution::kMaxSize / unit) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad size \"", text,
                     "\": want a number of bytes like 4096, 4k or 1m, "
                     "at most 256m"));
  }
  return static_cast<size_t>(value * unit);
}

absl::StatusOr<SizeDistribution> SizeDistribution::Parse(absl::string_view spec) {
  SizeDistribution distribution;
  uint64_t total = 0;
  for (absl::string_view part : absl::StrSplit(spec, ',')) {
    std::pair<absl::string_view, absl::string_view> size_weight =
        absl::StrSplit(part, absl::MaxSplits(':', 1));
    absl::StatusOr<size_t> size = ParseByteSize(size_weight.first);
    if (!size.ok()) return size.status();
    uint64_t weight = 1;
    const bool has_weight = part.find(':') != absl::string_view::npos;
    if (has_weight &&
        (!absl::SimpleAtoi(size_weight.second, &weight) || weight == 0 || weight > 1000000)) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad weight in \"", part, "\": want SIZE:WEIGHT, WEIGHT 1..1000000"));
    }
    total += weight;
    distribution.choices_.push_back({*size, total});
  }
  if (distribution.choices_.empty()) return absl::InvalidArgumentError("empty --size");
  return distribution;
}

size_t SizeDistribution::Pick(uint64_t random) const {
  if (choices_.size() == 1) return choices_[0].size;
  const uint64_t point = random % choices_.back().cumulative_weight;
  auto it = std::upper_bound(choices_.begin(), choices_.end(), point,
                             [](uint64_t p, const Choice& c) { return p < c.cumulative_weight; });
  return it->size;
}

size_t SizeDistribution::max_size() const {
  size_t max = 0;
  for (const Choice& c : choices_) max = std::max(max, c.size);
  return max;
}

std::string SizeDistribution::ToString() const {
  uint64_t previous = 0;
  std::vector<std::string> parts;
  for (const Choice& c : choices_) {
    parts.push_back(choices_.size() == 1
                        ? absl::StrCat(c.size)
                        : absl::StrCat(c.size, ":", c.cumulative_weight - previous));
    previous = c.cumulative_weight;
  }
  return absl::StrJoin(parts, ",");
}

}  // namespace tern::tools::tern_bench
