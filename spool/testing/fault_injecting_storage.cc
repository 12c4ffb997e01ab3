// FaultInjectingStorage: fault matching, the unsynced-write ledger and power-cut images
// (behaviour: spool/testing/fault_injecting_storage.h).
#include "spool/testing/fault_injecting_storage.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/check.h"
#include "core/status_macros.h"
#include "engine/io_engine.h"
#include "spool/errno_status.h"

namespace tern::spool::testing {
namespace {

constexpr uint64_t kPageBytes = 4096;

// Reads `n` bytes at `offset` of `fd`; bytes past the end of the file read as zeros.
std::string ReadRange(int fd, uint64_t offset, size_t n) {
  std::string out(n, '\0');
  size_t done = 0;
  while (done < n) {
    const ssize_t got = ::pread(fd, out.data() + done, n - done, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    done += static_cast<size_t>(got);
  }
  return out;
}

absl::Status WriteRange(const std::string& path, uint64_t offset, absl::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open", path, errno);
  size_t done = 0;
  absl::Status status;
  while (done < bytes.size()) {
    const ssize_t n =
        ::pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      status = ErrnoStatus("pwrite", path, errno);
      break;
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return status;
}

// Copies the tree at `from` to `to`. A file that vanishes while the copy runs (a segment
// deletion still in flight on the backend's worker, with the epoll engine) is left out: the
// power went after that deletion, as it may have in a real cut.
absl::Status CopyTree(const std::filesystem::path& from, const std::filesystem::path& to) {
  std::error_code error;
  std::filesystem::create_directories(to, error);
  if (error)
    return absl::InternalError(absl::StrCat("creating ", to.string(), ": ", error.message()));
  std::filesystem::directory_iterator it(from, error);
  for (; !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
    const std::filesystem::path target = to / it->path().filename();
    std::error_code entry_error;
    const bool directory = it->is_directory(entry_error);
    if (entry_error == std::errc::no_such_file_or_directory) continue;
    if (directory) {
      RETURN_IF_ERROR(CopyTree(it->path(), target));
      continue;
    }
    std::filesystem::copy_file(it->path(), target, entry_error);
    if (entry_error && entry_error != std::errc::no_such_file_or_directory) {
      return absl::InternalError(absl::StrCat("copying ", it->path().string(), " to ",
                                              target.string(), ": ", entry_error.message()));
    }
  }
  if (error) {
    return absl::InternalError(absl::StrCat("listing ", from.string(), ": ", error.message()));
  }
  return absl::OkStatus();
}

}  // namespace

const char* CrashPointName(CrashPoint point) {
  switch (point) {
    case CrashPoint::kWriteSubmitted:
      return "after-append-before-sync";
    case CrashPoint::kWriteDurable:
      return "after-sync-before-reply";
    case CrashPoint::kWriteReplied:
      return "after-reply";
    case CrashPoint::kCreateSubmitted:
      return "segment-create";
    case CrashPoint::kCloseSubmitted:
      return "segment-close";
    case CrashPoint::kDeleteSubmitted:
      return "segment-delete";
  }
  return "?";
}

const char* PowerCutLossName(PowerCutLoss loss) {
  switch (loss) {
    case PowerCutLoss::kDrop:
      return "drop";
    case PowerCutLoss::kTear:
      return "tear";
    case PowerCutLoss::kPages:
      return "pages";
  }
  return "?";
}

FaultInjectingStorage::FaultInjectingStorage(core::Loop* loop, uint64_t seed)
    : loop_(loop), real_(engine::CreateStorage(loop)), random_(seed) {}

std::string FaultInjectingStorage::PathOf(FileHandle file) const {
  auto it = paths_.find(file);
  return it != paths_.end() ? it->second : absl::StrCat("fd ", file);
}

FaultInjectingStorage::MatchedFault FaultInjectingStorage::Match(FaultOp op) {
  const uint64_t n = ++calls_[static_cast<size_t>(op)];
  for (const Fault& fault : faults_) {
    if (fault.op != op) continue;
    bool hit = false;
    if (fault.nth > 0) {
      hit = n >= fault.nth && n - fault.nth < fault.times;
    } else if (fault.rate > 0) {
      hit = std::uniform_real_distribution<double>(0, 1)(random_) < fault.rate;
    }
    if (hit) {
      ++injected_;
      return {true, fault.error, fault.tear};
    }
  }
  return {};
}

void FaultInjectingStorage::CreateSegment(std::string path, uint64_t bytes, Created done) {
  const MatchedFault fault = Match(FaultOp::kCreate);
  const bool known = created_bytes_.contains(path);
  const bool full = capacity_bytes_ > 0 && !known && used_bytes_ + bytes > capacity_bytes_;
  if (fault.fail || full) {
    const int error = fault.fail ? fault.error : ENOSPC;
    loop_->RunSoon([done = std::move(done), path, error]() mutable {
      done(ErrnoStatus("fallocate", path, error));
    });
    return;
  }
  Point(CrashPoint::kCreateSubmitted, path);
  real_->CreateSegment(
      path, bytes,
      [this, path, bytes, done = std::move(done)](absl::StatusOr<FileHandle> file) mutable {
        if (file.ok() && created_bytes_.emplace(path, bytes).second) {
          used_bytes_ += bytes;
        }
        if (file.ok()) paths_[*file] = path;
        done(std::move(file));
      });
}

void FaultInjectingStorage::WriteAndSync(FileHandle file, uint64_t offset,
                                         std::span<const iovec> iov, SyncMode sync, Done done) {
  const std::string path = PathOf(file);
  UnsyncedWrite write;
  write.path = path;
  write.offset = offset;
  for (const iovec& v : iov)
    write.new_bytes.append(static_cast<const char*>(v.iov_base), v.iov_len);
  write.old_bytes = ReadRange(file, offset, write.new_bytes.size());
  const uint64_t id = next_write_id_++;
  const size_t length = write.new_bytes.size();
  unsynced_.emplace(id, std::move(write));
  Point(CrashPoint::kWriteSubmitted, path);

  const MatchedFault write_fault = Match(FaultOp::kWrite);
  if (write_fault.fail) {
    unsynced_[id].completed = true;  // the torn prefix below is all it ever writes
    if (write_fault.tear && length > 1) {
      const size_t prefix = std::uniform_int_distribution<size_t>(1, length - 1)(random_);
      const absl::string_view bytes(unsynced_[id].new_bytes);
      CHECK(WriteRange(path, offset, bytes.substr(0, prefix)).ok());
    }
    loop_->RunSoon([done = std::move(done), path, error = write_fault.error]() mutable {
      done(ErrnoStatus("write", path, error));
    });
    return;
  }
  const MatchedFault sync_fault = Match(FaultOp::kSync);
  if (sync_fault.fail) {
    // The bytes reach the page cache; the fdatasync that should cover them fails, so they
    // stay unsynced (and a power cut may take them, or keep them).
    real_->WriteAndSync(file, offset, iov, SyncMode::kNone,
                        [this, id, done = std::move(done), path,
                         error = sync_fault.error](absl::Status status) mutable {
                          MarkCompleted(id);
                          done(status.ok() ? ErrnoStatus("fdatasync", path, error) : status);
                        });
    return;
  }
  std::vector<uint64_t> covered;
  if (sync == SyncMode::kFdatasync) covered = CompletedWritesTo(path);
  real_->WriteAndSync(file, offset, iov, sync,
                      [this, id, path, sync, covered = std::move(covered),
                       done = std::move(done)](absl::Status status) mutable {
                        const bool durable = status.ok() && sync == SyncMode::kFdatasync;
                        MarkCompleted(id);
                        if (durable) {
                          unsynced_.erase(id);
                          for (uint64_t earlier : covered) unsynced_.erase(earlier);
                          Point(CrashPoint::kWriteDurable, path);
                        }
                        done(std::move(status));
                        if (durable) Point(CrashPoint::kWriteReplied, path);
                      });
}

void FaultInjectingStorage::WriteZeros(FileHandle file, uint64_t offset, uint64_t bytes,
                                       SyncMode sync, Done done) {
  const MatchedFault fault = Match(FaultOp::kPrefill);
  if (!fault.fail) {
    // Zeros over something else (a failed commit being erased) are a write a power cut may
    // undo until a sync covers it; zeros over zeros change nothing.
    const std::string path = PathOf(file);
    std::string old_bytes = ReadRange(file, offset, bytes);
    uint64_t id = 0;
    if (old_bytes.find_first_not_of('\0') != std::string::npos) {
      id = next_write_id_++;
      unsynced_.emplace(id, UnsyncedWrite{path, offset, std::move(old_bytes),
                                          std::string(bytes, '\0'), /*completed=*/false});
    }
    std::vector<uint64_t> covered;
    if (sync == SyncMode::kFdatasync) covered = CompletedWritesTo(path);
    done = [this, id, sync, covered = std::move(covered),
            done = std::move(done)](absl::Status status) mutable {
      if (id != 0) MarkCompleted(id);
      if (status.ok() && sync == SyncMode::kFdatasync) {
        if (id != 0) unsynced_.erase(id);
        for (uint64_t earlier : covered) unsynced_.erase(earlier);
      }
      done(std::move(status));
    };
  }
  if (fault.fail) {
    loop_->RunSoon(
        [done = std::move(done), path = PathOf(file), bytes, error = fault.error]() mutable {
          done(ErrnoStatus(bytes > 0 ? "write" : "fdatasync", path, error));
        });
    return;
  }
  if (prefill_held_) {
    if (prefill_passes_ == 0) {
      parked_.push_back({file, offset, bytes, sync, std::move(done)});
      return;
    }
    --prefill_passes_;
  }
  real_->WriteZeros(file, offset, bytes, sync, std::move(done));
}

void FaultInjectingStorage::MarkCompleted(uint64_t id) {
  if (auto it = unsynced_.find(id); it != unsynced_.end()) it->second.completed = true;
}

std::vector<uint64_t> FaultInjectingStorage::CompletedWritesTo(const std::string& path) const {
  std::vector<uint64_t> ids;
  for (const auto& [id, write] : unsynced_) {
    if (write.completed && write.path == path) ids.push_back(id);
  }
  return ids;
}

void FaultInjectingStorage::ReleasePrefill() {
  prefill_held_ = false;
  std::vector<ParkedZeros> parked = std::move(parked_);
  parked_.clear();
  for (ParkedZeros& call : parked) {
    real_->WriteZeros(call.file, call.offset, call.bytes, call.sync, std::move(call.done));
  }
}

void FaultInjectingStorage::Truncate(FileHandle file, uint64_t bytes, Done done) {
  real_->Truncate(file, bytes, std::move(done));
}

void FaultInjectingStorage::Close(FileHandle file, Done done) {
  Point(CrashPoint::kCloseSubmitted, PathOf(file));
  paths_.erase(file);
  real_->Close(file, std::move(done));
}

void FaultInjectingStorage::OpenForRead(std::string path, Created done) {
  real_->OpenForRead(path,
                     [this, path, done = std::move(done)](absl::StatusOr<FileHandle> file) mutable {
                       if (file.ok()) paths_[*file] = path;
                       done(std::move(file));
                     });
}

void FaultInjectingStorage::Read(FileHandle file, uint64_t offset, size_t bytes,
                                 core::ByteBuffer* into, Done done) {
  const MatchedFault fault = Match(FaultOp::kRead);
  if (fault.fail) {
    loop_->RunSoon([done = std::move(done), path = PathOf(file), error = fault.error]() mutable {
      done(ErrnoStatus("read", path, error));
    });
    return;
  }
  if (!corrupt_reads_) {
    real_->Read(file, offset, bytes, into, std::move(done));
    return;
  }
  real_->Read(file, offset, bytes, into, [into, done = std::move(done)](absl::Status s) mutable {
    if (s.ok() && into->size() > 0) into->data()[into->size() - 1] ^= 0x20;
    done(std::move(s));
  });
}

void FaultInjectingStorage::DeleteFile(std::string path, Done done) {
  const MatchedFault fault = Match(FaultOp::kDelete);
  if (fault.fail) {
    loop_->RunSoon([done = std::move(done), path, error = fault.error]() mutable {
      done(ErrnoStatus("unlinkat", path, error));
    });
    return;
  }
  Point(CrashPoint::kDeleteSubmitted, path);
  real_->DeleteFile(path, [this, path, done = std::move(done)](absl::Status status) mutable {
    if (status.ok()) {
      if (auto it = created_bytes_.find(path); it != created_bytes_.end()) {
        used_bytes_ -= std::min(used_bytes_, it->second);
        created_bytes_.erase(it);
      }
    }
    done(std::move(status));
  });
}

absl::Status FaultInjectingStorage::TakeCrashImage(const std::string& from_dir,
                                                   const std::string& to_dir, PowerCutLoss loss) {
  std::error_code error;
  if (std::filesystem::exists(to_dir, error)) {
    return absl::AlreadyExistsError(absl::StrCat("crash image ", to_dir, " exists"));
  }
  RETURN_IF_ERROR(CopyTree(from_dir, to_dir));
  // In write order, so that a seed replays the same image.
  std::vector<uint64_t> ids;
  for (const auto& [id, write] : unsynced_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  const std::string prefix = from_dir + "/";
  for (uint64_t id : ids) {
    const UnsyncedWrite& write = unsynced_.at(id);
    if (!absl::StartsWith(write.path, prefix)) continue;
    const std::string target = to_dir + write.path.substr(from_dir.size());
    if (!std::filesystem::exists(target, error)) continue;
    std::string survives = write.old_bytes;
    const size_t n = survives.size();
    switch (loss) {
      case PowerCutLoss::kDrop:
        break;
      case PowerCutLoss::kTear: {
        const size_t keep = std::uniform_int_distribution<size_t>(0, n)(random_);
        survives.replace(0, keep, write.new_bytes, 0, keep);
        break;
      }
      case PowerCutLoss::kPages: {
        // Pages of the file, not of the write: a write that starts mid-page shares it.
        size_t at = 0;
        while (at < n) {
          const size_t page_end =
              std::min(n, static_cast<size_t>((write.offset + at) / kPageBytes + 1) * kPageBytes -
                              static_cast<size_t>(write.offset));
          if (std::bernoulli_distribution(0.5)(random_)) {
            survives.replace(at, page_end - at, write.new_bytes, at, page_end - at);
          }
          at = page_end;
        }
        break;
      }
    }
    if (absl::Status s = WriteRange(target, write.offset, survives); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace tern::spool::testing
