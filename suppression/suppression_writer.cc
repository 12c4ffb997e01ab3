// SuppressionWriter (suppression/suppression_writer.h): the queue and the group commit.
#include "suppression/suppression_writer.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/log.h"

namespace tern::suppression {

SuppressionWriter::SuppressionWriter(SuppressionJournal* journal, SuppressionIndex* index,
                                     WriterOptions options)
    : journal_(journal), index_(index), options_(std::move(options)) {
  thread_ = std::thread([this] { Run(); });
}

SuppressionWriter::~SuppressionWriter() { Stop(); }

void SuppressionWriter::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

int64_t SuppressionWriter::Now() const {
  return options_.clock ? options_.clock() : absl::ToUnixSeconds(absl::Now());
}

absl::Status SuppressionWriter::Enqueue(Request request) {
  absl::MutexLock lock(&mutex_);
  if (stopping_) return absl::FailedPreconditionError("suppression writer stopped");
  if (queue_.size() >= options_.queue_requests_max) {
    return absl::ResourceExhaustedError(
        absl::StrCat("suppression writer queue full (", options_.queue_requests_max, ")"));
  }
  queue_.push_back(std::move(request));
  return absl::OkStatus();
}

absl::Status SuppressionWriter::Add(Entry entry, Done done) {
  if (absl::Status valid = ValidateEntry(entry); !valid.ok()) return valid;
  Request request;
  request.records.push_back(JournalRecord{JournalRecordType::kAdd, std::move(entry)});
  request.done = std::move(done);
  return Enqueue(std::move(request));
}

absl::Status SuppressionWriter::Remove(std::string scope, std::string target, Done done) {
  Entry key;
  key.scope = std::move(scope);
  key.target = std::move(target);
  if (absl::Status valid = ValidateEntry(key); !valid.ok()) return valid;
  Request request;
  request.records.push_back(JournalRecord{JournalRecordType::kRemove, std::move(key)});
  request.done = std::move(done);
  return Enqueue(std::move(request));
}

absl::Status SuppressionWriter::AddAll(std::vector<Entry> entries, Done done) {
  Request request;
  request.records.reserve(entries.size());
  for (Entry& entry : entries) {
    if (absl::Status valid = ValidateEntry(entry); !valid.ok()) return valid;
    request.records.push_back(JournalRecord{JournalRecordType::kAdd, std::move(entry)});
  }
  request.done = std::move(done);
  return Enqueue(std::move(request));
}

size_t SuppressionWriter::batches() const {
  absl::MutexLock lock(&mutex_);
  return batches_;
}

void SuppressionWriter::Run() {
  std::vector<Request> batch;
  while (true) {
    {
      absl::MutexLock lock(&mutex_);
      mutex_.Await(absl::Condition(
          +[](SuppressionWriter* w) ABSL_EXCLUSIVE_LOCKS_REQUIRED(w->mutex_) {
            return w->stopping_ || !w->queue_.empty();
          },
          this));
      if (queue_.empty()) return;  // stopping, and everything queued is done
      size_t records = 0;
      while (!queue_.empty() && (batch.empty() || records + queue_.front().records.size() <=
                                                      options_.batch_records_max)) {
        records += queue_.front().records.size();
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      ++batches_;
    }
    Commit(batch);
    batch.clear();
  }
}

void SuppressionWriter::Commit(std::vector<Request>& batch) {
  std::string encoded;
  for (const Request& request : batch) {
    for (const JournalRecord& record : request.records) AppendJournalRecord(record, &encoded);
  }
  const absl::Status durable = journal_->AppendEncoded(encoded);
  if (!durable.ok()) {
    TERN_LOG(kError, "suppression journal: %s", durable.ToString());
    for (Request& request : batch) {
      if (request.done) request.done(durable);
    }
    return;
  }
  // Durable: now visible, then reported.
  std::vector<absl::Status> results(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    for (const JournalRecord& record : batch[i].records) {
      if (record.type == JournalRecordType::kAdd) {
        index_->Put(record.entry);
      } else if (!index_->Remove(record.entry.scope, record.entry.target)) {
        results[i] = absl::NotFoundError(absl::StrCat("no suppression of ", record.entry.target,
                                                      record.entry.scope.empty() ? "" : " for ",
                                                      record.entry.scope));
      }
    }
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    if (batch[i].done) batch[i].done(results[i]);
  }
  if (journal_->ShouldCompact(*index_)) {
    if (absl::Status compacted = journal_->Compact(index_, Now()); !compacted.ok()) {
      TERN_LOG(kError, "suppression journal compaction: %s", compacted.ToString());
    }
  }
}

}  // namespace tern::suppression
