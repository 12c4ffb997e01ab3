// SegmentReader: reads records back from one shard's segments through the StorageBackend
// (on the ring), keeping read-only descriptors of recently read segments open in a small
// cache (at most kReadFilesOpenMax idle ones; least recently used closed first). A segment
// about to be deleted is Forget()ten: its descriptor is closed as soon as no read uses it.
//
//   SegmentReader reader(&storage, shard_dir);
//   reader.Read(location, [](absl::StatusOr<core::ByteBuffer> bytes) { ... });
//   ...
//   reader.CloseAll([] { /* every read done, every descriptor closed */ });
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "core/byte_buffer.h"
#include "spool/record_location.h"
#include "spool/storage.h"

namespace tern::spool {

inline constexpr size_t kReadFilesOpenMax = 16;

class SegmentReader {
 public:
  using ReadDone = absl::AnyInvocable<void(absl::StatusOr<core::ByteBuffer>)>;

  // `storage` must outlive this object; so must every read in flight (see CloseAll).
  SegmentReader(StorageBackend* storage, std::string shard_dir)
      : storage_(storage), shard_dir_(std::move(shard_dir)) {}
  ~SegmentReader();
  SegmentReader(const SegmentReader&) = delete;
  SegmentReader& operator=(const SegmentReader&) = delete;

  // Reads the `at.record_bytes` bytes at `at`. `done` runs from a completion.
  void Read(const RecordLocation& at, ReadDone done);
  // Closes the segment's descriptor once its reads are done, and forgets it.
  void Forget(uint64_t segment);
  // Waits for reads in flight, closes every descriptor, then calls `done` (from a
  // completion, or at once if nothing is open or in flight).
  void CloseAll(absl::AnyInvocable<void()> done);

  size_t reads_in_flight() const { return reads_in_flight_; }
  size_t open_files() const { return files_.size(); }

 private:
  struct Waiting {
    RecordLocation at;
    ReadDone done;
  };
  struct File {
    FileHandle fd = -1;
    bool opening = false;
    bool forgotten = false;
    size_t reads = 0;
    uint64_t last_use = 0;
    std::vector<Waiting> waiting;  // reads asked for while opening
  };

  void StartRead(File& file, uint64_t segment, Waiting w);
  void OnOpened(uint64_t segment, absl::StatusOr<FileHandle> fd);
  void Release(uint64_t segment);
  void CloseFile(uint64_t segment);
  void EvictIdle();
  void MaybeFinishClose();

  StorageBackend* storage_;
  std::string shard_dir_;
  absl::flat_hash_map<uint64_t, File> files_;
  uint64_t use_clock_ = 0;
  size_t reads_in_flight_ = 0;
  size_t ops_in_flight_ = 0;  // opens and closes
  bool closing_ = false;
  absl::AnyInvocable<void()> close_done_;
};

}  // namespace tern::spool
