// SegmentReader: the descriptor cache and the read path (behaviour: spool/segment_reader.h).
#include "spool/segment_reader.h"

#include <utility>

#include "core/check.h"
#include "core/log.h"
#include "spool/segment_files.h"

namespace tern::spool {

SegmentReader::~SegmentReader() {
  CHECK_EQ(reads_in_flight_, 0u);
  CHECK_EQ(ops_in_flight_, 0u);
  CHECK(files_.empty());
}

void SegmentReader::Read(const RecordLocation& at, ReadDone done) {
  CHECK(!closing_);
  ++reads_in_flight_;
  auto [it, inserted] = files_.try_emplace(at.segment);
  File& file = it->second;
  file.last_use = ++use_clock_;
  if (inserted) {
    file.opening = true;
    file.waiting.push_back(Waiting{at, std::move(done)});
    ++ops_in_flight_;
    storage_->OpenForRead(SegmentPath(shard_dir_, at.segment),
                          [this, segment = at.segment](absl::StatusOr<FileHandle> fd) {
                            OnOpened(segment, std::move(fd));
                          });
    EvictIdle();
    return;
  }
  if (file.opening) {
    file.waiting.push_back(Waiting{at, std::move(done)});
    return;
  }
  StartRead(file, at.segment, Waiting{at, std::move(done)});
}

void SegmentReader::StartRead(File& file, uint64_t segment, Waiting w) {
  ++file.reads;
  auto buffer = std::make_unique<core::ByteBuffer>();
  core::ByteBuffer* into = buffer.get();
  storage_->Read(file.fd, w.at.offset, w.at.record_bytes, into,
                 [this, segment, buffer = std::move(buffer),
                  done = std::move(w.done)](absl::Status status) mutable {
                   Release(segment);
                   --reads_in_flight_;
                   if (status.ok()) {
                     done(std::move(*buffer));
                   } else {
                     done(std::move(status));
                   }
                   MaybeFinishClose();
                 });
}

void SegmentReader::OnOpened(uint64_t segment, absl::StatusOr<FileHandle> fd) {
  --ops_in_flight_;
  auto it = files_.find(segment);
  CHECK(it != files_.end());
  std::vector<Waiting> waiting = std::move(it->second.waiting);
  if (!fd.ok()) {
    files_.erase(it);
    reads_in_flight_ -= waiting.size();
    for (Waiting& w : waiting) w.done(fd.status());
    MaybeFinishClose();
    return;
  }
  File& file = it->second;
  file.fd = *fd;
  file.opening = false;
  // Reads first: a Forget() that came while opening closes once they are done.
  for (Waiting& w : waiting) StartRead(file, segment, std::move(w));
  if (file.reads == 0 && (file.forgotten || closing_)) CloseFile(segment);
}

void SegmentReader::Release(uint64_t segment) {
  auto it = files_.find(segment);
  CHECK(it != files_.end());
  CHECK_GT(it->second.reads, 0u);
  if (--it->second.reads > 0) return;
  if (it->second.forgotten || closing_) return CloseFile(segment);
  EvictIdle();  // the bound could not hold while every file was busy
}

void SegmentReader::Forget(uint64_t segment) {
  auto it = files_.find(segment);
  if (it == files_.end()) return;
  it->second.forgotten = true;
  if (!it->second.opening && it->second.reads == 0) CloseFile(segment);
}

void SegmentReader::CloseFile(uint64_t segment) {
  auto it = files_.find(segment);
  CHECK(it != files_.end());
  const FileHandle fd = it->second.fd;
  files_.erase(it);
  ++ops_in_flight_;
  storage_->Close(fd, [this, segment](absl::Status status) {
    --ops_in_flight_;
    if (!status.ok()) {
      TERN_LOG(kWarning, "spool close of %s (read): %s", SegmentFileName(segment),
               status.ToString());
    }
    MaybeFinishClose();
  });
}

void SegmentReader::EvictIdle() {
  while (files_.size() > kReadFilesOpenMax) {
    uint64_t victim = 0;
    uint64_t oldest_use = UINT64_MAX;
    for (const auto& [segment, file] : files_) {
      if (!file.opening && file.reads == 0 && file.last_use < oldest_use) {
        victim = segment;
        oldest_use = file.last_use;
      }
    }
    if (oldest_use == UINT64_MAX) return;  // all busy: the bound holds again when they finish
    CloseFile(victim);
  }
}

void SegmentReader::CloseAll(absl::AnyInvocable<void()> done) {
  CHECK(!closing_);
  closing_ = true;
  close_done_ = std::move(done);
  std::vector<uint64_t> idle;
  for (const auto& [segment, file] : files_) {
    if (!file.opening && file.reads == 0) idle.push_back(segment);
  }
  for (uint64_t segment : idle) CloseFile(segment);
  MaybeFinishClose();
}

void SegmentReader::MaybeFinishClose() {
  if (!closing_ || !close_done_) return;
  if (reads_in_flight_ > 0 || ops_in_flight_ > 0 || !files_.empty()) return;
  auto done = std::move(close_done_);
  close_done_ = nullptr;
  done();
}

}  // namespace tern::spool
