// RecordArena (suppression/record_arena.h).
#include "suppression/record_arena.h"

#include <sys/mman.h>

#include <cstring>

#include "core/check.h"

namespace tern::suppression {

void* AllocatePages(size_t bytes) {
  void* pages = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(pages != MAP_FAILED);
  ::madvise(pages, bytes, MADV_HUGEPAGE);  // a hint: without THP, 4 KiB pages do
  return pages;
}

void FreePages(void* pages, size_t bytes) { ::munmap(pages, bytes); }

RecordArena::RecordArena() : chunks_(new std::atomic<char*>[kChunksMax]) {
  for (size_t i = 0; i < kChunksMax; ++i) chunks_[i].store(nullptr, std::memory_order_relaxed);
}

RecordArena::~RecordArena() {
  for (size_t i = 0; i < chunk_count_; ++i) {
    FreePages(chunks_[i].load(std::memory_order_relaxed), kChunkBytes);
  }
}

uint64_t RecordArena::Append(absl::string_view bytes) {
  CHECK_LE(bytes.size(), kRecordBytesMax);
  const size_t padded = (bytes.size() + kAlign - 1) / kAlign * kAlign;
  if (offset_ + padded > kChunkBytes) {
    CHECK_LT(chunk_count_, kChunksMax);
    // The pages are touched only as records fill them.
    chunks_[chunk_count_].store(static_cast<char*>(AllocatePages(kChunkBytes)),
                                std::memory_order_release);
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
