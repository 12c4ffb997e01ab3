// RecordArena: append-only memory for the suppression index's records. A record, once
// written and published (its reference stored with release order where readers load it with
// acquire), never moves and never changes until the arena is destroyed, so a reader that
// found a reference may read the bytes without a lock.
//
// Memory comes in chunks of kChunkBytes (AllocatePages), reserved on demand (untouched
// pages cost no RSS);
// a record never spans two chunks. A reference is the record's chunk and its offset in
// 4-byte units, packed into kRefBits bits.
//
//   uint64_t ref = arena.Append(bytes);   // the writer (one at a time)
//   const char* record = arena.At(ref);   // any thread, after the reference was published
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/strings/string_view.h"

namespace tern::suppression {

// Zeroed anonymous memory of `bytes`, in transparent huge pages where the kernel allows
// (MADV_HUGEPAGE): the index's reads land anywhere in hundreds of MiB, and with 4 KiB pages
// nearly every one would also miss the TLB. CHECK-fails when out of memory.
void* AllocatePages(size_t bytes);
void FreePages(void* pages, size_t bytes);

class RecordArena {
 public:
  static constexpr int kRefBits = 40;
  static constexpr int kOffsetBits = 22;  // 4-byte units in one chunk
  static constexpr size_t kAlign = 4;
  static constexpr size_t kChunkBytes = (size_t{1} << kOffsetBits) * kAlign;  // 16 MiB
  static constexpr size_t kChunksMax = 16384;                                 // 256 GiB
  static constexpr size_t kRecordBytesMax = 4096;
  static_assert(kChunksMax <= (uint64_t{1} << (kRefBits - kOffsetBits)) - 1,
                "the all-ones reference stays free for the index's tombstone");
  static_assert(kRecordBytesMax <= kChunkBytes);

  RecordArena();
  ~RecordArena();
  RecordArena(const RecordArena&) = delete;
  RecordArena& operator=(const RecordArena&) = delete;

  // Copies `bytes` (at most kRecordBytesMax) and returns its reference. CHECK-fails when the
  // arena is exhausted (256 GiB). Writer only.
  uint64_t Append(absl::string_view bytes);
  const char* At(uint64_t ref) const {
    const char* chunk = chunks_[ref >> kOffsetBits].load(std::memory_order_acquire);
    return chunk + (ref & ((uint64_t{1} << kOffsetBits) - 1)) * kAlign;
  }
  // Bytes handed out (records and padding), and bytes of chunks reserved.
  size_t used_bytes() const { return used_bytes_.load(std::memory_order_relaxed); }
  size_t reserved_bytes() const { return chunk_count_ * kChunkBytes; }

 private:
  std::unique_ptr<std::atomic<char*>[]> chunks_;
  size_t chunk_count_ = 0;
  size_t offset_ = kChunkBytes;  // in the last chunk; full at the start
  std::atomic<size_t> used_bytes_{0};
};

}  // namespace tern::suppression
