// BdatChunk: the framing of one BDAT chunk (RFC 3030 §3): its size and LAST marker from the
// command's argument, then the chunk's bytes taken from the front of each input until all of
// them arrived. What the chunk's bytes mean (stored, verified, discarded) is the caller's.
//
//   BdatChunk chunk;
//   if (!chunk.Begin(arg)) { Reply("501 5.5.4 ..."); Close(); }  // cannot be skipped
//   ...
//   absl::string_view bytes = chunk.Take(in);   // a prefix of `in`; the rest is not the chunk's
//   Store(bytes);
//   if (chunk.complete()) { Reply(...chunk.size()...); if (chunk.last()) EndMessage(); }
//
// A chunk of size 0 is complete at once (a "BDAT 0 LAST" ends the message).
#pragma once

#include <cstdint>

#include "absl/strings/string_view.h"

namespace tern::net::smtp {

class BdatChunk {
 public:
  // Reads the BDAT argument "chunk-size [ SP LAST ]" (ParseBdatArgument): false, and the
  // chunk unchanged, when it is not one.
  bool Begin(absl::string_view argument);
  // The chunk's bytes at the front of `in`: all of `in`, or the rest of the chunk.
  absl::string_view Take(absl::string_view in);
  // Every byte of the chunk was taken.
  bool complete() const { return remaining_ == 0; }
  // The chunk's size, as the command announced it.
  uint64_t size() const { return size_; }
  // BDAT ... LAST: the message ends with this chunk.
  bool last() const { return last_; }
  // Bytes of the chunk not taken yet.
  uint64_t remaining() const { return remaining_; }

 private:
  uint64_t size_ = 0;
  uint64_t remaining_ = 0;
  bool last_ = false;
};

}  // namespace tern::net::smtp
