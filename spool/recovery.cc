// Recovery scan of one shard's segments (behaviour: spool/recovery.h).
#include "spool/recovery.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/byte_buffer.h"
#include "core/check.h"
#include "core/log.h"
#include "core/status_macros.h"
#include "spool/errno_status.h"
#include "spool/little_endian.h"
#include "spool/record_codec.h"
#include "spool/segment_files.h"
#include "spool/state_record.h"

namespace tern::spool {
namespace {

// Closes a file descriptor when the scan of a segment ends.
class FileCloser {
 public:
  explicit FileCloser(int fd) : fd_(fd) {}
  ~FileCloser() { ::close(fd_); }
  FileCloser(const FileCloser&) = delete;
  FileCloser& operator=(const FileCloser&) = delete;

 private:
  int fd_;
};

absl::Status ReadAll(int fd, const std::string& path, size_t size, core::ByteBuffer* buf) {
  buf->Clear();
  char* at = buf->Extend(size);
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, at + done, size - done, static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("pread", path, errno);
    }
    if (n == 0) break;  // shrank under us: scan what we have
    done += static_cast<size_t>(n);
  }
  buf->Truncate(done);
  return absl::OkStatus();
}

absl::Status WriteFileDurable(const std::string& path, absl::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return ErrnoStatus("open", path, errno);
  FileCloser closer(fd);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write", path, errno);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return ErrnoStatus("fsync", path, errno);
  return absl::OkStatus();
}

// The offset of the next record after a bad one at `bad` that verifies, if any.
std::optional<size_t> FindNextValidRecord(absl::string_view data, size_t bad) {
  RecordView record;
  // Cheap first guess: the bad header's own length is intact, only its payload is damaged.
  if (data.size() - bad >= kRecordHeaderBytes && LoadLE32(data.data() + bad) == kRecordMagic) {
    const uint64_t next =
        bad + kRecordHeaderBytes + LoadLE32(data.data() + bad + kRecordLengthOffset);
    if (next < data.size() && DecodeRecord(data.substr(next), &record) == DecodeResult::kOk) {
      return next;
    }
  }
  char magic[4];
  StoreLE32(magic, kRecordMagic);
  size_t from = bad + 1;
  while (from + kRecordHeaderBytes <= data.size()) {
    const void* hit = ::memmem(data.data() + from, data.size() - from, magic, sizeof(magic));
    if (hit == nullptr) return std::nullopt;
    const size_t at = static_cast<const char*>(hit) - data.data();
    if (DecodeRecord(data.substr(at), &record) == DecodeResult::kOk) return at;
    from = at + 1;
  }
  return std::nullopt;
}

size_t NonZeroPrefix(absl::string_view bytes) {
  size_t end = bytes.size();
  while (end > 0 && bytes[end - 1] == 0) --end;
  return end;
}

class SegmentScanner {
 public:
  SegmentScanner(const std::string& shard_dir, QueueIndex* index, SegmentLedger* ledger,
                 RecoveryStats* stats, const RecoveryCrashHook& crash)
      : shard_dir_(shard_dir), index_(index), ledger_(ledger), stats_(stats), crash_(crash) {}

  absl::Status Scan(uint64_t segment) {
    const std::string path = SegmentPath(shard_dir_, segment);
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open", path, errno);
    FileCloser closer(fd);
    struct stat st;
    if (::fstat(fd, &st) != 0) return ErrnoStatus("fstat", path, errno);
    RETURN_IF_ERROR(ReadAll(fd, path, static_cast<size_t>(st.st_size), &buf_));
    const absl::string_view data = buf_.view();
    ledger_->AddSegment(segment, static_cast<uint64_t>(st.st_size));
    size_t offset = 0;
    while (offset < data.size()) {
      RecordView record;
      const DecodeResult result = DecodeRecord(data.substr(offset), &record);
      if (result == DecodeResult::kOk) {
        RETURN_IF_ERROR(Apply(segment, offset, record, data));
        offset += record.record_bytes;
        continue;
      }
      const std::optional<size_t> next = FindNextValidRecord(data, offset);
      if (!next.has_value()) {
        const size_t tail = NonZeroPrefix(data.substr(offset));
        if (result == DecodeResult::kEndOfData && tail == 0) break;  // clean end
        RETURN_IF_ERROR(CutTornTail(fd, path, segment, offset, data.substr(offset, tail), result));
        ledger_->AddSegment(segment, offset);
        break;
      }
      RETURN_IF_ERROR(Quarantine(segment, offset, data.substr(offset, *next - offset), ".bad",
                                 DecodeResultName(result)));
      ++stats_->corrupt_ranges_quarantined;
      offset = *next;
    }
    ++stats_->segments;
    stats_->last_segment = std::max(stats_->last_segment, segment);
    return absl::OkStatus();
  }

 private:
  absl::Status Apply(uint64_t segment, size_t offset, const RecordView& record,
                     absl::string_view data) {
    ++stats_->records;
    stats_->bytes += record.record_bytes;
    stats_->max_queue_id = std::max(stats_->max_queue_id, record.queue_id);
    const RecordLocation location{segment, offset, static_cast<uint32_t>(record.record_bytes)};
    const bool is_message = record.type == RecordType::kMessage;
    ledger_->NoteRecord(location, is_message);
    if (!is_message) {
      ++stats_->state_records;
      FoldState(location, record);
      return absl::OkStatus();
    }
    MessageRecordView view;
    if (!view.Parse(record.payload)) {
      ++stats_->malformed_messages;
      return Quarantine(segment, offset, data.substr(offset, record.record_bytes), ".bad",
                        "malformed MESSAGE envelope");
    }
    ++stats_->messages;
    if (const QueueEntry* earlier = index_->Find(record.queue_id)) {
      ledger_->RemoveLive(record.queue_id, earlier->location());
    }
    index_->Insert(record.queue_id, QueueEntry::FromMessage(location, view));
    if (index_->Find(record.queue_id)->finished()) {
      index_->Remove(record.queue_id);  // a copy is never made of a finished message
      ++stats_->messages_finished;
    } else {
      ledger_->AddLive(record.queue_id, location);
    }
    return absl::OkStatus();
  }

  void FoldState(const RecordLocation& location, const RecordView& record) {
    RecipientResultView result;
    bool held = false;
    int64_t at_unix_us = 0;
    int64_t until_unix_us = 0;
    const bool is_result = DecodeRecipientResult(record.type, record.payload, &result);
    if (!is_result &&
        !DecodeHold(record.type, record.payload, &held, &at_unix_us, &until_unix_us)) {
      ++stats_->malformed_state_records;
      TERN_LOG(kError, "spool %s offset %d: malformed state record (type %d), ignored",
               SegmentPath(shard_dir_, location.segment), location.offset,
               static_cast<int>(record.type));
      return;
    }
    QueueEntry* entry = index_->FindMutable(record.queue_id);
    if (entry == nullptr) {
      ++stats_->state_records_ignored;
      return;
    }
    if (!is_result) {
      index_->SetHeld(record.queue_id, held, until_unix_us);
      return;
    }
    if (!entry->ApplyResult(result.recipient, result.state, result.attempts,
                            result.next_attempt_unix_us)) {
      ++stats_->state_records_ignored;
      return;
    }
    index_->mutable_history()->Add(record.queue_id, AttemptNote::From(result, 0));
    if (entry->finished()) {
      ledger_->RemoveLive(record.queue_id, entry->location());
      index_->Remove(record.queue_id);
      ++stats_->messages_finished;
    }
  }

  absl::Status Quarantine(uint64_t segment, size_t offset, absl::string_view bytes,
                          absl::string_view suffix, absl::string_view why) {
    RETURN_IF_ERROR(MaybeCrash("quarantine"));
    const std::string dir = QuarantineDirectory(shard_dir_);
    RETURN_IF_ERROR(MakeDirectoryDurable(dir));
    const std::string path =
        absl::StrFormat("%s/%0*d-%d%s", dir, kSegmentNumberDigits, segment, offset, suffix);
    RETURN_IF_ERROR(WriteFileDurable(path, bytes));
    // The entry too, before the caller truncates the segment: a crash in between must not
    // leave the bytes in neither place.
    RETURN_IF_ERROR(SyncDirectory(dir));
    TERN_LOG(kError, "spool %s: %s at offset %d, %d bytes quarantined to %s",
             SegmentPath(shard_dir_, segment), why, offset, bytes.size(), path);
    return absl::OkStatus();
  }

  absl::Status CutTornTail(int fd, const std::string& path, uint64_t segment, size_t offset,
                           absl::string_view nonzero_tail, DecodeResult result) {
    if (!nonzero_tail.empty()) {
      RETURN_IF_ERROR(Quarantine(segment, offset, nonzero_tail, ".torn", "torn tail"));
    }
    RETURN_IF_ERROR(MaybeCrash("truncate"));
    if (::ftruncate(fd, static_cast<off_t>(offset)) != 0) {
      return ErrnoStatus("ftruncate", path, errno);
    }
    if (::fsync(fd) != 0) return ErrnoStatus("fsync", path, errno);
    ++stats_->torn_tails_truncated;
    TERN_LOG(kWarning, "spool %s: torn tail (%s) at offset %d, truncated", path,
             DecodeResultName(result), offset);
    return absl::OkStatus();
  }

  absl::Status MaybeCrash(const char* step) {
    if (crash_ && crash_(step)) {
      return absl::AbortedError(absl::StrCat("injected crash during recovery at ", step));
    }
    return absl::OkStatus();
  }

  const std::string& shard_dir_;
  QueueIndex* index_;
  SegmentLedger* ledger_;
  RecoveryStats* stats_;
  const RecoveryCrashHook& crash_;
  core::ByteBuffer buf_;
};

}  // namespace

std::string RecoveryStats::ToString() const {
  return absl::StrFormat(
      "segments=%d records=%d messages=%d state_records=%d state_records_ignored=%d "
      "malformed_state_records=%d messages_finished=%d bytes=%d torn_tails_truncated=%d "
      "corrupt_ranges_quarantined=%d malformed_messages=%d last_segment=%d",
      segments, records, messages, state_records, state_records_ignored, malformed_state_records,
      messages_finished, bytes, torn_tails_truncated, corrupt_ranges_quarantined,
      malformed_messages, last_segment);
}

absl::StatusOr<RecoveryStats> RecoverShard(const std::string& shard_dir, QueueIndex* index) {
  SegmentLedger ledger;
  return RecoverShard(shard_dir, index, &ledger);
}

absl::StatusOr<RecoveryStats> RecoverShard(const std::string& shard_dir, QueueIndex* index,
                                           SegmentLedger* ledger, const RecoveryCrashHook& crash) {
  RecoveryStats stats;
  ASSIGN_OR_RETURN(std::vector<uint64_t> segments, ListSegments(shard_dir));
  SegmentScanner scanner(shard_dir, index, ledger, &stats, crash);
  for (uint64_t segment : segments) RETURN_IF_ERROR(scanner.Scan(segment));
  return stats;
}

}  // namespace tern::spool
