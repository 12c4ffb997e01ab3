// BdatChunk: one BDAT chunk's size and bytes (bdat_chunk.h).
#include "net/smtp/bdat_chunk.h"

#include <algorithm>

#include "net/smtp/command_arguments.h"

namespace tern::net::smtp {

bool BdatChunk::Begin(absl::string_view argument) {
  uint64_t size = 0;
  bool last = false;
  if (!ParseBdatArgument(argument, &size, &last)) return false;
  size_ = size;
  remaining_ = size;
  last_ = last;
  return true;
}

absl::string_view BdatChunk::Take(absl::string_view in) {
  const size_t n = static_cast<size_t>(std::min<uint64_t>(in.size(), remaining_));
  remaining_ -= n;
  return in.substr(0, n);
}

}  // namespace tern::net::smtp
