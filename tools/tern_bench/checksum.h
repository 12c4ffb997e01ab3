// BodyChecksum: the checksum tern-bench puts into each message it generates
// (X-Tern-Bench-Checksum) and that `tern-bench sink` recomputes to verify the body arrived
// intact. It is an integrity check against relays that cut, mix up or mangle bodies, not a
// cryptographic hash. Streaming: the sink feeds the body in the pieces it arrived in, and
// any split gives the same value.
//
// Algorithm ("tb64", fixed, so that any tool can verify): the input is read as
// little-endian 64-bit words; each word w updates h = rotl(h ^ w, 29) * kMul; a final
// partial word is zero-padded, and the length is mixed in at the end:
//   h0 = kSeed; ...; h = (h ^ length) * kMul; h ^= h >> 32.
#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace tern::tools::tern_bench {

class BodyChecksum {
 public:
  void Update(absl::string_view bytes);
  uint64_t Final() const;
  void Reset() { *this = BodyChecksum(); }

  // One call: BodyChecksum of `bytes`.
  static uint64_t Of(absl::string_view bytes);
  // 16 lowercase hex digits, as in the header.
  static std::string Format(uint64_t checksum);

 private:
  static constexpr uint64_t kSeed = 0x9e3779b97f4a7c15ull;
  static constexpr uint64_t kMul = 0xff51afd7ed558ccdull;
  void Mix(uint64_t word);

  uint64_t h_ = kSeed;
  uint64_t length_ = 0;
  uint64_t carry_ = 0;        // bytes of a word not complete yet, little-endian
  unsigned carry_bytes_ = 0;  // how many, < 8
};

}  // namespace tern::tools::tern_bench
