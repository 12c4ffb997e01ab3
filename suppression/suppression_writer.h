// SuppressionWriter: the one thread that changes the suppression list. Shards, the bounce
// path and ternctl post requests (add, remove, import) and never wait on the disk: the
// writer takes every queued request at once, writes them to the journal with one write and
// one fdatasync (group commit), applies them to the index, and only then calls each
// request's completion callback, on the writer thread, with the entry durable AND visible
// to Check(). The caller posts the result back to its own loop.
//
// The queue is bounded (queue_requests_max): a full queue refuses with ResourceExhausted at
// once, it never grows. After a batch the writer compacts the journal when it should.
//
//   SuppressionIndex index;
//   ASSIGN_OR_RETURN(auto journal, SuppressionJournal::Open({.directory = dir}, &index));
//   SuppressionWriter writer(journal.get(), &index, {});
//   absl::Status queued = writer.Add(entry, [loop](absl::Status durable) {
//     loop->Post([durable] { ... });   // back on the shard
//   });
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "suppression/suppression_index.h"
#include "suppression/suppression_journal.h"

namespace tern::suppression {

struct WriterOptions {
  size_t queue_requests_max = 4096;
  // Records in one group commit (a larger import is still one write).
  size_t batch_records_max = 8192;
  // Unix seconds now (compaction drops what expired); tests set a fixed clock.
  std::function<int64_t()> clock;
};

class SuppressionWriter {
 public:
  // Called on the writer thread: OK once durable and visible; for Remove, NotFound when
  // there was no such entry (nothing else changed); otherwise the journal's error, and
  // the index is unchanged.
  using Done = absl::AnyInvocable<void(absl::Status)>;

  // Starts the thread. `journal` and `index` outlive the writer.
  SuppressionWriter(SuppressionJournal* journal, SuppressionIndex* index, WriterOptions options);
  // Finishes the queued requests, then joins.
  ~SuppressionWriter();
  SuppressionWriter(const SuppressionWriter&) = delete;
  SuppressionWriter& operator=(const SuppressionWriter&) = delete;

  // Queues; InvalidArgument for an invalid entry (ValidateEntry), ResourceExhausted when
  // the queue is full, FailedPrecondition after Stop. `done` is called only when queued.
  absl::Status Add(Entry entry, Done done);
  absl::Status Remove(std::string scope, std::string target, Done done);
  // Many entries as one request (an import): one write; all are applied, or none if the
  // write fails. A crash during that write may keep a prefix (import again: adds replace).
  absl::Status AddAll(std::vector<Entry> entries, Done done);
  // Finishes the queued requests and stops the thread (idempotent). Never from a callback
  // (it runs on the thread being joined).
  void Stop();

  size_t batches() const;  // group commits done (tests, metrics)

 private:
  struct Request {
    std::vector<JournalRecord> records;
    Done done;
  };
  absl::Status Enqueue(Request request);
  void Run();
  void Commit(std::vector<Request>& batch);
  int64_t Now() const;

  SuppressionJournal* journal_;
  SuppressionIndex* index_;
  WriterOptions options_;
  mutable absl::Mutex mutex_;
  std::deque<Request> queue_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  size_t batches_ ABSL_GUARDED_BY(mutex_) = 0;
  std::thread thread_;
};

}  // namespace tern::suppression
