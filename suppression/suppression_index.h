// SuppressionIndex: the in-memory suppression list, read by every shard at every RCPT
// without a lock. Check() takes no mutex, allocates nothing and writes no shared memory;
// writers (a bounce, a complaint, ternctl: rare) serialise on a mutex of their own.
//
// Design (why it is safe to read while one writer changes it):
//   - Records (scope, target, event, reason, times) are appended to a RecordArena and are
//     immutable once published: a reader that found a record reads its bytes safely.
//   - An open-addressing table (linear probing) of 64-bit atomic slots. A slot is 0 (empty),
//     a tombstone, or a 24-bit tag from the key's hash and a 40-bit record reference. The
//     writer fills a record, then stores the slot with release order; a reader loads slots
//     with acquire order. A tag hit is verified against the record's scope and target bytes,
//     so a hash collision never suppresses the wrong address.
//   - Replace stores the new record's reference into the key's slot; remove stores a
//     tombstone (a probe passes over it). A reader sees the old or the new state, never a mix.
//   - Growth (or purging tombstones) builds a new table and publishes it through an atomic
//     pointer. The old table stays alive, since a reader may still be probing it, until the
//     index is destroyed or ReleaseRetiredTables() is called at a safe point. The table only
//     doubles, so the retired tables of growth together are smaller than the current one.
//   - Memory: 8 bytes a slot, live slots and tombstones at most 0.7 of the table (then a
//     rebuild: twice the size when more than half are live, else the same size without the
//     tombstones), and a record of 14 bytes plus its scope, target and event, rounded to 4.
//     10M addresses of ~26 bytes with 14-byte events take 662 MiB of RSS
//     (bench/suppression/). Tables and arena are in transparent huge pages (fewer TLB misses).
//   - Retired tables: growth retires at most the sum of the smaller sizes (< one current
//     table); tombstone purges retire one table per 0.2 × slots removals. Both are freed by
//     ReleaseRetiredTables() at a safe point (the journal's Open does it after the replay).
//   - Records replaced or removed stay in the arena (garbage_bytes()) until the process
//     restarts: the journal then rebuilds a compact index.
//
//   SuppressionIndex index;
//   index.Put(entry);                                       // the writer
//   if (auto m = index.Check("sender.example", "User@Example.com", now)) reject(m->reason);
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "suppression/entry.h"
#include "suppression/record_arena.h"

namespace tern::suppression {

// An entry as stored: the views point into the index's arena and stay valid as long as the
// index lives (also after the entry is replaced or removed).
struct EntryView {
  absl::string_view target;
  absl::string_view scope;  // "" = global
  absl::string_view event;
  Reason reason = Reason::kManual;
  int64_t created = 0;
  int64_t expires = 0;  // 0 = never

  bool is_domain() const { return target.find('@') == absl::string_view::npos; }
  bool expired(int64_t now) const { return expires != 0 && expires <= now; }
  Entry ToEntry() const;
};

// Why Check() found a recipient suppressed.
struct Match {
  EntryView entry;
  bool by_domain = false;  // the entry is the recipient's domain, not its address
  bool global() const { return entry.scope.empty(); }
};

class SuppressionIndex {
 public:
  SuppressionIndex();
  ~SuppressionIndex();
  SuppressionIndex(const SuppressionIndex&) = delete;
  SuppressionIndex& operator=(const SuppressionIndex&) = delete;

  // Any thread, no lock, no allocation. Looks up, in this order, (global, address),
  // (global, domain), (sender scope, address), (sender scope, domain); an entry expired at
  // `now` counts as absent. `sender` is the envelope sender's domain (an address is
  // accepted: its domain is used; "" for the null sender: global entries only). `recipient`
  // is the bare address, in any case.
  std::optional<Match> Check(absl::string_view sender, absl::string_view recipient,
                             int64_t now) const;
  // The entry of exactly (scope, target) (normalised), expired or not. Any thread.
  std::optional<EntryView> Find(absl::string_view scope, absl::string_view target) const;
  // Calls `fn` for every entry of the current table (expired ones included), in no order.
  // Any thread, no lock: entries added or removed meanwhile may or may not be seen.
  void ForEach(absl::FunctionRef<void(const EntryView&)> fn) const;
  // Pages through the current table (an export in pages): visits the slots from `from` on,
  // calling `fn` for each entry until it returns false (after that entry) or the table
  // ends. Returns where the next page starts, or nullopt at the end. A position is valid
  // only for the table it came from: once the table was rebuilt (growth, purge) a later
  // page is FailedPrecondition (start again). Any thread, no lock, as ForEach.
  struct ScanPosition {
    uint64_t generation = 0;  // which table
    uint64_t slot = 0;        // 0 with any generation: the start
  };
  absl::StatusOr<std::optional<ScanPosition>> ForEachFrom(
      ScanPosition from, absl::FunctionRef<bool(const EntryView&)> fn) const;

  // Writers (any thread; they serialise on the index's writer mutex). `entry` must pass
  // ValidateEntry (CHECKed). Put replaces the entry of the same (scope, target).
  void Put(const Entry& entry);
  // False when there was no such entry.
  bool Remove(absl::string_view scope, absl::string_view target);
  // Sizes the table for `entries` at once (start-up, before a bulk load).
  void Reserve(size_t entries);
  // Frees the tables replaced by growth. Only when no thread is inside Check, Find or
  // ForEach (start-up after loading, or shutdown).
  void ReleaseRetiredTables();

  // Counts (relaxed reads; exact once writers are quiet). Expired entries are counted until
  // they are removed (the journal drops them at compaction).
  size_t size() const { return live_.load(std::memory_order_relaxed); }
  size_t count(Reason reason) const {
    return reason_counts_[ReasonIndex(reason)].load(std::memory_order_relaxed);
  }
  size_t table_slots() const;
  size_t memory_bytes() const;  // tables (current and retired) and arena in use
  size_t garbage_bytes() const { return garbage_bytes_.load(std::memory_order_relaxed); }

 private:
  struct Table;
  struct Key {
    absl::string_view scope;
    absl::string_view target;
  };
  static uint64_t HashKey(Key key);
  static EntryView Decode(const char* record);
  struct Found {
    int64_t index = -1;  // -1: absent
    uint64_t slot = 0;   // the slot's value that was verified to hold `key`
  };
  Found FindSlot(const Table& table, Key key, uint64_t hash) const;
  void Rebuild(size_t slots) ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_mutex_);
  void CountAdd(Reason reason, int delta) ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_mutex_);

  RecordArena arena_;
  std::atomic<Table*> table_;
  absl::Mutex writer_mutex_;
  std::vector<std::unique_ptr<Table>> tables_ ABSL_GUARDED_BY(writer_mutex_);  // last: current
  size_t used_slots_ ABSL_GUARDED_BY(writer_mutex_) = 0;
  uint64_t generations_ ABSL_GUARDED_BY(writer_mutex_) = 0;  // tables built // live + tombstones
  std::atomic<size_t> live_{0};
  std::atomic<size_t> garbage_bytes_{0};
  std::atomic<size_t> retired_bytes_{0};
  std::array<std::atomic<size_t>, kReasonCount> reason_counts_{};
};

}  // namespace tern::suppression
