// BodyChecksum: tern-bench's streaming body checksum (algorithm in checksum.h).
#include "tools/tern_bench/checksum.h"

#include <bit>
#include <cstring>

#include "absl/strings/str_format.h"

namespace tern::tools::tern_bench {
namespace {

uint64_t LoadLittleEndian(const char* p) {
  uint64_t word;
  std::memcpy(&word, p, sizeof(word));
  if constexpr (std::endian::native == std::endian::big) word = __builtin_bswap64(word);
  return word;
}

}  // namespace

void BodyChecksum::Mix(uint64_t word) {
  uint64_t x = h_ ^ word;
  x = (x << 29) | (x >> 35);
  h_ = x * kMul;
}

void BodyChecksum::Update(absl::string_view bytes) {
  length_ += bytes.size();
  const char* p = bytes.data();
  size_t n = bytes.size();
  while (carry_bytes_ != 0 && n > 0) {  // finish the partial word first
    carry_ |= uint64_t{static_cast<uint8_t>(*p)} << (8 * carry_bytes_);
    ++p;
    --n;
    if (++carry_bytes_ == 8) {
      Mix(carry_);
      carry_ = 0;
      carry_bytes_ = 0;
    }
  }
  for (; n >= 8; p += 8, n -= 8) Mix(LoadLittleEndian(p));
  for (; n > 0; ++p, --n) {
    carry_ |= uint64_t{static_cast<uint8_t>(*p)} << (8 * carry_bytes_);
    ++carry_bytes_;
  }
}

uint64_t BodyChecksum::Final() const {
  BodyChecksum copy = *this;
  if (copy.carry_bytes_ != 0) copy.Mix(copy.carry_);
  uint64_t h = (copy.h_ ^ length_) * kMul;
  return h ^ (h >> 32);
}

uint64_t BodyChecksum::Of(absl::string_view bytes) {
  BodyChecksum checksum;
  checksum.Update(bytes);
  return checksum.Final();
}

std::string BodyChecksum::Format(uint64_t checksum) { return absl::StrFormat("%016x", checksum); }

}  // namespace tern::tools::tern_bench
