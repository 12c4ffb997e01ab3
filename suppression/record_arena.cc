// RecordArena (suppression/record_arena.h).
#include "suppression/record_arena.h"

#include <cstring>

#include "core/check.h"

namespace tern::suppression {

RecordArena::RecordArena() : chunks_(new std::atomic<char*>[kChunksMax]) {
  for (size_t i = 0; i < kChunksMax; ++i) chunks_[i].store(nullptr, std::memory_order_relaxed);
}

RecordArena::~RecordArena() {
  for (size_t i = 0; i < chunk_count_; ++i) delete[] chunks_[i].load(std::memory_order_relaxed);
}

uint64_t RecordArena::Append(absl::string_view bytes) {
  CHECK_LE(bytes.size(), kRecordBytesMax);
  const size_t padded = (bytes.size() + kAlign - 1) / kAlign * kAlign;
  if (offset_ + padded > kChunkBytes) {
    CHECK_LT(chunk_count_, kChunksMax);
    // Not value-initialised: the pages are touched only as records fill them.
    chunks_[chunk_count_].store(new char[kChunkBytes], std::memory_order_release);
    ++chunk_count_;
    offset_ = 0;
  }
  char* chunk = chunks_[chunk_count_ - 1].load(std::memory_order_relaxed);
  std::memcpy(chunk + offset_, bytes.data(), bytes.size());
  const uint64_t ref = (uint64_t{chunk_count_ - 1} << kOffsetBits) | (offset_ / kAlign);
  offset_ += padded;
  used_bytes_.store(used_bytes_.load(std::memory_order_relaxed) + padded,
                    std::memory_order_relaxed);
  return ref;
}

}  // namespace tern::suppression
