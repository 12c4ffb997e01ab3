// MessageReads: a message's stored bytes read once per delivery attempt, and DKIM-signed
// once, for all of that attempt's jobs. A message whose recipients are at several next
// hops has one job per lane; without this each job read the record from the spool and
// signed it again. The first job's Get() reads (and signs); a Get() while that read is in
// flight waits for it; a later one, for as long as the attempt keeps the bytes, gets them
// at once (on the next loop turn: never inside Get()).
//
// Bounded: the bytes are kept past their read only for an attempt with more than one job
// left, and only while all kept messages together stay under `keep_bytes_max`; beyond it a
// later job reads again, as before (its sibling jobs may wait in slow lanes for long).
// Forget() when the attempt is over releases what is kept. A job holding the shared
// message keeps it alive by itself (shared_ptr), whatever the cache does.
//
//   reads.Get(id, generation, jobs_left, [](absl::StatusOr<SharedMessage> m) { ... });
//   reads.Forget(id);  // every job of the attempt recorded
//
// Read-ahead: while a connection sends one message, the agent asks for the next one its lane
// will send (ReadAhead); that job's Get() then finds it read. What is read ahead is kept
// like a shared read (same bound, released by Forget()).
//
// Single-threaded: the shard's loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "core/loop.h"
#include "delivery/delivery_counters.h"
#include "delivery/dkim_signer.h"
#include "spool/loaded_message.h"
#include "spool/shard_spool.h"

namespace tern::delivery {

// One read of a message and its signature, shared by the jobs of an attempt.
struct PreparedMessage {
  explicit PreparedMessage(spool::LoadedMessage loaded) : message(std::move(loaded)) {}
  spool::LoadedMessage message;
  std::string signature;  // the DKIM-Signature field, or "" (no signer or no key fits)
};
using SharedMessage = std::shared_ptr<const PreparedMessage>;

class MessageReads {
 public:
  using Done = absl::AnyInvocable<void(absl::StatusOr<SharedMessage>)>;
  // Kept messages together, by default.
  static constexpr size_t kKeepBytesMaxDefault = size_t{64} << 20;

  // `dkim` and `counters` may be null (no signing; not counted); `loop`, `spool` and
  // `counters` must outlive this.
  MessageReads(core::Loop* loop, spool::ShardSpool* spool, std::shared_ptr<const DkimSigner> dkim,
               DeliveryCounters* counters = nullptr, size_t keep_bytes_max = kKeepBytesMaxDefault);
  MessageReads(const MessageReads&) = delete;
  MessageReads& operator=(const MessageReads&) = delete;

  // Calls `done` (never inside this call) with message `queue_id` of attempt `generation`,
  // read and signed once for the attempt. `jobs_left`: the attempt's jobs not yet recorded,
  // this one included (more than 1: worth keeping for the others).
  void Get(uint64_t queue_id, uint64_t generation, uint32_t jobs_left, Done done);
  // Starts reading message `queue_id` of attempt `generation` for a job that will ask soon,
  // unless it is read or being read already, or the kept bytes are at their bound. False
  // when no read was started.
  bool ReadAhead(uint64_t queue_id, uint64_t generation);
  // Whether `queue_id` is kept or being read.
  bool Has(uint64_t queue_id) const { return entries_.contains(queue_id); }
  // The attempt of `queue_id` is over: whatever is kept of it is released.
  void Forget(uint64_t queue_id);
  // The signer for the reads that start from now on (a configuration reload).
  void set_dkim(std::shared_ptr<const DkimSigner> dkim) { dkim_ = std::move(dkim); }

  size_t kept_bytes() const { return kept_bytes_; }
  size_t entries() const { return entries_.size(); }
  // Gets answered from another job's read (for the counters and the tests).
  uint64_t shared_reads() const { return shared_reads_; }
  uint64_t spool_reads() const { return spool_reads_; }

 private:
  struct Entry {
    uint64_t generation = 0;
    bool reading = false;
    bool keep = false;          // keep the bytes once read (until Forget)
    SharedMessage kept;         // while `keep`
    std::vector<Done> waiters;  // while `reading`
  };
  void OnRead(uint64_t queue_id, absl::StatusOr<spool::LoadedMessage> read);
  void ReadUnshared(uint64_t queue_id, Done done);
  // The read message with its signature.
  absl::StatusOr<SharedMessage> Prepare(absl::StatusOr<spool::LoadedMessage> read);
  void Release(Entry& entry);
  void CountRead(bool shared);

  core::Loop* const loop_;
  spool::ShardSpool* const spool_;
  std::shared_ptr<const DkimSigner> dkim_;
  DeliveryCounters* const counters_;
  const size_t keep_bytes_max_;
  size_t kept_bytes_ = 0;
  uint64_t shared_reads_ = 0;
  uint64_t spool_reads_ = 0;
  absl::flat_hash_map<uint64_t, Entry> entries_;  // reading, or kept
};

}  // namespace tern::delivery
