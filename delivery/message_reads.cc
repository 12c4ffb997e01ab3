// Implementation of delivery/message_reads.h.
#include "delivery/message_reads.h"

#include <utility>

#include "absl/time/clock.h"
#include "core/check.h"

namespace tern::delivery {

MessageReads::MessageReads(core::Loop* loop, spool::ShardSpool* spool,
                           std::shared_ptr<const DkimSigner> dkim, DeliveryCounters* counters,
                           size_t keep_bytes_max)
    : loop_(loop),
      spool_(spool),
      dkim_(std::move(dkim)),
      counters_(counters),
      keep_bytes_max_(keep_bytes_max) {}

void MessageReads::CountRead(bool shared) {
  ++(shared ? shared_reads_ : spool_reads_);
  if (counters_ != nullptr) {
    DeliveryCounters::Add(shared ? counters_->message_reads_shared : counters_->message_reads);
  }
}

void MessageReads::Get(uint64_t queue_id, uint64_t generation, uint32_t jobs_left, Done done) {
  auto it = entries_.find(queue_id);
  if (it != entries_.end() && it->second.generation == generation) {
    Entry& entry = it->second;
    CountRead(/*shared=*/true);
    if (entry.reading) {
      entry.keep = entry.keep || jobs_left > 1;
      entry.waiters.push_back(std::move(done));
      return;
    }
    CHECK(entry.kept != nullptr);
    loop_->RunSoon([done = std::move(done), message = entry.kept]() mutable { done(message); });
    return;
  }
  if (it != entries_.end()) {
    // An earlier attempt's entry, never forgotten: its bytes go. If its read is still in
    // flight (its waiters are answered by it), this attempt reads on its own.
    if (it->second.reading) return ReadUnshared(queue_id, std::move(done));
    Release(it->second);
    entries_.erase(it);
  }
  Entry& entry = entries_[queue_id];
  entry.generation = generation;
  entry.reading = true;
  entry.keep = jobs_left > 1;
  entry.waiters.push_back(std::move(done));
  CountRead(/*shared=*/false);
  spool_->ReadMessage(queue_id, [this, queue_id](absl::StatusOr<spool::LoadedMessage> read) {
    OnRead(queue_id, std::move(read));
  });
}

bool MessageReads::ReadAhead(uint64_t queue_id, uint64_t generation) {
  if (entries_.contains(queue_id) || kept_bytes_ >= keep_bytes_max_) return false;
  Entry& entry = entries_[queue_id];
  entry.generation = generation;
  entry.reading = true;
  entry.keep = true;  // for the job that asks next
  CountRead(/*shared=*/false);
  spool_->ReadMessage(queue_id, [this, queue_id](absl::StatusOr<spool::LoadedMessage> read) {
    OnRead(queue_id, std::move(read));
  });
  return true;
}

void MessageReads::ReadUnshared(uint64_t queue_id, Done done) {
  CountRead(/*shared=*/false);
  spool_->ReadMessage(
      queue_id, [this, done = std::move(done)](absl::StatusOr<spool::LoadedMessage> read) mutable {
        done(Prepare(std::move(read)));
      });
}

absl::StatusOr<SharedMessage> MessageReads::Prepare(absl::StatusOr<spool::LoadedMessage> read) {
  if (!read.ok()) return read.status();
  auto prepared = std::make_shared<PreparedMessage>(*std::move(read));
  if (dkim_ != nullptr) prepared->signature = dkim_->Sign(prepared->message.body(), absl::Now());
  return SharedMessage(std::move(prepared));
}

void MessageReads::OnRead(uint64_t queue_id, absl::StatusOr<spool::LoadedMessage> read) {
  auto it = entries_.find(queue_id);
  CHECK(it != entries_.end() && it->second.reading);
  Entry& entry = it->second;
  std::vector<Done> waiters = std::move(entry.waiters);
  entry.waiters.clear();
  entry.reading = false;
  absl::StatusOr<SharedMessage> result = Prepare(std::move(read));
  const size_t bytes = result.ok() ? (*result)->message.record().size() : 0;
  if (result.ok() && entry.keep && kept_bytes_ + bytes <= keep_bytes_max_) {
    entry.kept = *result;
    kept_bytes_ += bytes;
  } else {
    // Nothing to keep (one job, a failed read, over the bound, or forgotten meanwhile):
    // later jobs read again.
    entries_.erase(it);
  }
  // A waiter may call Get() or Forget() for this id: `it` is not used past this point.
  for (Done& done : waiters) done(result);
}

void MessageReads::Forget(uint64_t queue_id) {
  auto it = entries_.find(queue_id);
  if (it == entries_.end()) return;
  Release(it->second);
  if (it->second.reading) {
    it->second.keep = false;  // its waiters still get the read; nothing is kept after
    return;
  }
  entries_.erase(it);
}

void MessageReads::Release(Entry& entry) {
  if (entry.kept == nullptr) return;
  const size_t bytes = entry.kept->message.record().size();
  CHECK_GE(kept_bytes_, bytes);
  kept_bytes_ -= bytes;
  entry.kept.reset();
}

}  // namespace tern::delivery
