// FaultyStorage: the spool tests' StorageBackend. Delegates to RingStorage on the real
// ring, except for the calls told to fail (errors arrive through a NOP completion, as a
// real failure would), and offers hooks where a test takes a "crash image" of the spool.
#pragma once

#include <cerrno>
#include <cstring>
#include <functional>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/loop.h"
#include "spool/ring_storage.h"
#include "spool/storage.h"

namespace tern::spool::testing {

class FaultyStorage final : public StorageBackend {
 public:
  explicit FaultyStorage(core::Loop* loop) : loop_(loop), ring_(loop) {}

  int fail_write_number = 0;  // 1-based WriteAndSync call to fail (0: none)
  int fail_write_errno = EIO;
  int create_failures = 0;  // fail this many CreateSegment calls first
  int writes = 0;
  int creates = 0;
  int reads = 0;
  int deletes = 0;
  bool corrupt_reads = false;  // flip a bit in the last byte of every read
  // Called before each write is handed to the ring (nothing of it on disk yet) and before
  // each deletion: tests take "crash images" of the spool there.
  std::function<void()> before_write;
  std::function<void(const std::string&)> before_delete;

  void CreateSegment(std::string path, uint64_t bytes, Created done) override {
    ++creates;
    if (create_failures > 0) {
      --create_failures;
      Later(
          [done = std::move(done), path]() mutable { done(ErrnoLike("fallocate", path, ENOSPC)); });
      return;
    }
    ring_.CreateSegment(std::move(path), bytes, std::move(done));
  }
  void WriteAndSync(FileHandle file, uint64_t offset, std::span<const iovec> iov, SyncMode sync,
                    Done done) override {
    if (before_write) before_write();
    if (++writes == fail_write_number) {
      Later([done = std::move(done), path = ring_.PathOf(file), e = fail_write_errno]() mutable {
        done(ErrnoLike("fdatasync", path, e));
      });
      return;
    }
    ring_.WriteAndSync(file, offset, iov, sync, std::move(done));
  }
  void Truncate(FileHandle file, uint64_t bytes, Done done) override {
    ring_.Truncate(file, bytes, std::move(done));
  }
  void Close(FileHandle file, Done done) override { ring_.Close(file, std::move(done)); }
  void OpenForRead(std::string path, Created done) override {
    ring_.OpenForRead(std::move(path), std::move(done));
  }
  void Read(FileHandle file, uint64_t offset, size_t bytes, core::ByteBuffer* into,
            Done done) override {
    ++reads;
    if (corrupt_reads) {
      ring_.Read(file, offset, bytes, into, [into, done = std::move(done)](absl::Status s) mutable {
        if (s.ok() && into->size() > 40) into->data()[into->size() - 1] ^= 0x20;
        done(std::move(s));
      });
      return;
    }
    ring_.Read(file, offset, bytes, into, std::move(done));
  }
  void DeleteFile(std::string path, Done done) override {
    ++deletes;
    if (before_delete) before_delete(path);
    ring_.DeleteFile(std::move(path), std::move(done));
  }

 private:
  static absl::Status ErrnoLike(const char* call, const std::string& path, int err) {
    std::string m = absl::StrCat(call, " ", path, ": ", strerror(err));
    return err == ENOSPC ? absl::ResourceExhaustedError(m) : absl::DataLossError(m);
  }
  struct Deferred final : core::Completion {
    absl::AnyInvocable<void()> fn;
    void OnComplete(int32_t, uint32_t) override {
      auto f = std::move(fn);
      delete this;
      f();
    }
  };
  void Later(absl::AnyInvocable<void()> fn) {
    auto* d = new Deferred;
    d->fn = std::move(fn);
    io_uring_prep_nop(loop_->PrepareSqe(d));
  }

  core::Loop* loop_;
  RingStorage ring_;
};

}  // namespace tern::spool::testing
