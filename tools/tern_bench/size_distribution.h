// SizeDistribution: the message sizes tern-bench source sends, from --size:
//   "4096", "4k", "1m"                 every message that size (k = 1024, m = 1024 * 1024)
//   "1k:60,4k:30,64k:9,1m:1"           sizes with weights: each message draws one
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tern::tools::tern_bench {

// "4096", "4k", "64K", "1m": bytes. InvalidArgument otherwise.
absl::StatusOr<size_t> ParseByteSize(absl::string_view text);

class SizeDistribution {
 public:
  static constexpr size_t kMaxSize = size_t{256} << 20;
  static absl::StatusOr<SizeDistribution> Parse(absl::string_view spec);
  // `random`: any uniformly distributed 64-bit value.
  size_t Pick(uint64_t random) const;
  size_t max_size() const;
  std::string ToString() const;

 private:
  struct Choice {
    size_t size;
    uint64_t cumulative_weight;
  };
  std::vector<Choice> choices_;
};

}  // namespace tern::tools::tern_bench
