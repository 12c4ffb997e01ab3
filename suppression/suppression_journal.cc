// SuppressionJournal (suppression/suppression_journal.h): recovery, appends, compaction.
#include "suppression/suppression_journal.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "core/errno_status.h"
#include "core/little_endian.h"
#include "core/log.h"
#include "core/status_macros.h"

namespace tern::suppression {
namespace {

using core::ErrnoStatus;

// Flushes of the compaction's snapshot buffer.
constexpr size_t kSnapshotBufferBytes = size_t{1} << 20;
// Assumed size of an ADD record before any was written (for ShouldCompact).
constexpr uint64_t kAddRecordBytesGuess = 80;

absl::Status WriteAll(int fd, uint64_t offset, absl::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("pwrite", path, errno);
    }
    bytes.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

absl::Status SyncDirectory(const std::string& directory) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open", directory, errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus("fsync", directory, err);
  return absl::OkStatus();
}

// A read-only mapping of a whole file (none for an empty one).
class MappedFile {
 public:
  MappedFile() = default;
  ~MappedFile() {
    if (data_ != nullptr) ::munmap(data_, size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  absl::Status Map(int fd, size_t size, const std::string& path) {
    if (size == 0) return absl::OkStatus();
    void* data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (data == MAP_FAILED) return ErrnoStatus("mmap", path, errno);
    data_ = data;
    size_ = size;
    return absl::OkStatus();
  }
  absl::string_view bytes() const {
    return absl::string_view(static_cast<const char*>(data_), size_);
  }

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
};

// True when a valid record starts anywhere in `bytes` after its first byte.
bool ValidRecordFollows(absl::string_view bytes) {
  char magic[4];
  core::StoreLE32(magic, kJournalRecordMagic);
  size_t from = 1;
  while (true) {
    const size_t at = bytes.find(absl::string_view(magic, 4), from);
    if (at == absl::string_view::npos) return false;
    JournalRecord record;
    size_t record_bytes = 0;
    if (DecodeJournalRecord(bytes.substr(at), &record, &record_bytes) == DecodeResult::kOk) {
      return true;
    }
    from = at + 1;
  }
}

}  // namespace

SuppressionJournal::SuppressionJournal(JournalOptions options, int fd, uint64_t file_bytes)
    : options_(std::move(options)),
      path_(absl::StrCat(options_.directory, "/", kFileName)),
      fd_(fd),
      file_bytes_(file_bytes) {}

SuppressionJournal::~SuppressionJournal() {
  if (fd_ >= 0) ::close(fd_);
}

absl::StatusOr<std::unique_ptr<SuppressionJournal>> SuppressionJournal::Open(
    JournalOptions options, SuppressionIndex* index) {
  CHECK_EQ(index->size(), 0u);
  const std::string path = absl::StrCat(options.directory, "/", kFileName);
  const std::string temp_path = absl::StrCat(options.directory, "/", kTempFileName);
  // A compaction that did not reach its rename: the journal beside it is still whole.
  if (::unlink(temp_path.c_str()) == 0) {
    TERN_LOG(kWarning, "%s: removed an interrupted compaction's temp file", temp_path);
  } else if (errno != ENOENT) {
    return ErrnoStatus("unlink", temp_path, errno);
  }
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return ErrnoStatus("open", path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoStatus("fstat", path, err);
  }
  auto journal = absl::WrapUnique(
      new SuppressionJournal(std::move(options), fd, static_cast<uint64_t>(st.st_size)));
  RETURN_IF_ERROR(journal->Replay(index));
  // No reader has seen the index yet: the tables outgrown during the replay can go.
  index->ReleaseRetiredTables();
  return journal;
}

absl::Status SuppressionJournal::Replay(SuppressionIndex* index) {
  MappedFile file;
  RETURN_IF_ERROR(file.Map(fd_, file_bytes_, path_));
  const absl::string_view bytes = file.bytes();
  if (bytes.size() < kJournalFileMagic.size()) {
    // New, or created by a run that crashed before its magic was durable.
    if (bytes != kJournalFileMagic.substr(0, bytes.size())) {
      return absl::DataLossError(absl::StrCat(path_, ": not a suppression journal"));
    }
    if (::ftruncate(fd_, 0) != 0) return ErrnoStatus("ftruncate", path_, errno);
    RETURN_IF_ERROR(WriteAll(fd_, 0, kJournalFileMagic, path_));
    if (::fdatasync(fd_) != 0) return ErrnoStatus("fdatasync", path_, errno);
    RETURN_IF_ERROR(SyncDirectory(options_.directory));
    file_bytes_ = kJournalFileMagic.size();
    return absl::OkStatus();
  }
  if (bytes.substr(0, kJournalFileMagic.size()) != kJournalFileMagic) {
    return absl::DataLossError(absl::StrCat(path_, ": not a suppression journal"));
  }
  size_t offset = kJournalFileMagic.size();
  while (offset < bytes.size()) {
    JournalRecord record;
    size_t record_bytes = 0;
    const DecodeResult result = DecodeJournalRecord(bytes.substr(offset), &record, &record_bytes);
    if (result != DecodeResult::kOk) {
      if (ValidRecordFollows(bytes.substr(offset))) {
        return absl::DataLossError(absl::StrCat(path_, ": corrupt record at offset ", offset,
                                                " (valid records follow; not cut)"));
      }
      torn_bytes_ = bytes.size() - offset;
      TERN_LOG(kWarning, "%s: cutting a torn tail of %d bytes at offset %d", path_, torn_bytes_,
               offset);
      if (::ftruncate(fd_, static_cast<off_t>(offset)) != 0) {
        return ErrnoStatus("ftruncate", path_, errno);
      }
      if (::fdatasync(fd_) != 0) return ErrnoStatus("fdatasync", path_, errno);
      break;
    }
    if (record.type == JournalRecordType::kAdd) {
      index->Put(record.entry);
      add_bytes_ += record_bytes;
      ++add_records_;
    } else {
      index->Remove(record.entry.scope, record.entry.target);
    }
    ++recovered_records_;
    offset += record_bytes;
  }
  file_bytes_ = offset;
  return absl::OkStatus();
}

absl::Status SuppressionJournal::Append(absl::Span<const JournalRecord> records) {
  std::string encoded;
  for (const JournalRecord& record : records) AppendJournalRecord(record, &encoded);
  return AppendEncoded(encoded);
}

absl::Status SuppressionJournal::AppendEncoded(absl::string_view records) {
  if (broken_) {
    return absl::FailedPreconditionError(
        absl::StrCat(path_, ": an earlier failed append could not be cut back; reopen"));
  }
  absl::Status status = WriteAll(fd_, file_bytes_, records, path_);
  if (status.ok() && ::fdatasync(fd_) != 0) status = ErrnoStatus("fdatasync", path_, errno);
  if (!status.ok()) {
    // Nothing of a failed batch may stay: a later record after it would make it a corrupt
    // record in the middle.
    if (::ftruncate(fd_, static_cast<off_t>(file_bytes_)) != 0) broken_ = true;
    return status;
  }
  file_bytes_ += records.size();
  // The average ADD size, from the records' headers.
  for (size_t at = 0; at < records.size();) {
    const size_t bytes =
        kJournalHeaderBytes + core::LoadLE16(records.data() + at + kJournalLengthOffset);
    if (records[at + kJournalTypeOffset] == static_cast<char>(JournalRecordType::kAdd)) {
      add_bytes_ += bytes;
      ++add_records_;
    }
    at += bytes;
  }
  return absl::OkStatus();
}

bool SuppressionJournal::ShouldCompact(const SuppressionIndex& index) const {
  const uint64_t average = add_records_ == 0 ? kAddRecordBytesGuess : add_bytes_ / add_records_;
  const uint64_t live_bytes = kJournalFileMagic.size() + index.size() * average;
  return file_bytes_ > options_.compact_bytes_min &&
         file_bytes_ > options_.compact_ratio * live_bytes;
}

absl::Status SuppressionJournal::Compact(SuppressionIndex* index, int64_t now,
                                         CompactionStop stop) {
  const std::string temp_path = absl::StrCat(options_.directory, "/", kTempFileName);
  const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return ErrnoStatus("open", temp_path, errno);
  bool keep_fd = false;
  struct Closer {
    int fd;
    bool* keep;
    ~Closer() {
      if (!*keep) ::close(fd);
    }
  } closer{fd, &keep_fd};

  std::string buffer(kJournalFileMagic);
  uint64_t written = 0;
  uint64_t add_bytes = 0;
  uint64_t add_records = 0;
  std::vector<std::pair<std::string, std::string>> expired;
  absl::Status status;
  index->ForEach([&](const EntryView& view) {
    if (!status.ok()) return;
    if (view.expired(now)) {
      expired.emplace_back(view.scope, view.target);
      return;
    }
    const size_t before = buffer.size();
    AppendJournalRecord(JournalRecord{JournalRecordType::kAdd, view.ToEntry()}, &buffer);
    add_bytes += buffer.size() - before;
    ++add_records;
    if (buffer.size() >= kSnapshotBufferBytes) {
      status = WriteAll(fd, written, buffer, temp_path);
      written += buffer.size();
      buffer.clear();
    }
  });
  RETURN_IF_ERROR(status);
  RETURN_IF_ERROR(WriteAll(fd, written, buffer, temp_path));
  written += buffer.size();
  if (stop == CompactionStop::kAfterWrite) return absl::AbortedError("stopped after write");
  if (::fdatasync(fd) != 0) return ErrnoStatus("fdatasync", temp_path, errno);
  if (stop == CompactionStop::kAfterSync) return absl::AbortedError("stopped after sync");
  if (::rename(temp_path.c_str(), path_.c_str()) != 0) {
    return ErrnoStatus("rename", temp_path, errno);
  }
  if (stop == CompactionStop::kAfterRename) return absl::AbortedError("stopped after rename");
  RETURN_IF_ERROR(SyncDirectory(options_.directory));
  TERN_LOG(kInfo, "%s: compacted %d bytes into %d (%d entries, %d expired dropped)", path_,
           file_bytes_, written, add_records, expired.size());
  ::close(fd_);
  fd_ = fd;
  keep_fd = true;
  broken_ = false;
  file_bytes_ = written;
  add_bytes_ = add_bytes;
  add_records_ = add_records;
  for (const auto& [scope, target] : expired) index->Remove(scope, target);
  return absl::OkStatus();
}

}  // namespace tern::suppression
