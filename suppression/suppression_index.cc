// SuppressionIndex (suppression/suppression_index.h): the record layout, the table and its
// growth.
#include "suppression/suppression_index.h"

#include <cstring>
#include <new>

#include "absl/hash/hash.h"
#include "core/check.h"

namespace tern::suppression {
namespace {

// A record in the arena (host byte order: it never leaves the process):
//   +---------+---------+--------+-------+--------+------+---------+-------+--------+-------+
//   | created | expires | reason | scope | target | zero | event   | scope | target | event |
//   | u32     | u32     | u8     | len u8| len u8 |  u8  | len u16 | bytes | bytes  | bytes |
//   +---------+---------+--------+-------+--------+------+---------+-------+--------+-------+
//   0         4         8        9       10       11     12        14
constexpr size_t kCreatedOffset = 0;
constexpr size_t kExpiresOffset = 4;
constexpr size_t kReasonOffset = 8;
constexpr size_t kScopeLengthOffset = 9;
constexpr size_t kTargetLengthOffset = 10;
constexpr size_t kEventLengthOffset = 12;
constexpr size_t kRecordHeaderBytes = 14;
constexpr size_t kRecordBytesMax =
    kRecordHeaderBytes + kDomainBytesMax + kDomainBytesMax + kEventBytesMax;
static_assert(kRecordBytesMax <= RecordArena::kRecordBytesMax);
static_assert(kDomainBytesMax <= UINT8_MAX && kAddressBytesMax <= UINT8_MAX);
static_assert(kEventBytesMax <= UINT16_MAX);

// A slot: 0 = empty; kTombstone; else tag (24 bits, never 0) << 40 | record reference.
constexpr int kRefBits = RecordArena::kRefBits;
constexpr uint64_t kRefMask = (uint64_t{1} << kRefBits) - 1;
constexpr uint64_t kTombstone = kRefMask;  // tag 0: never a live slot
constexpr size_t kSlotsMin = 1024;

uint64_t TagOf(uint64_t hash) { return (hash >> kRefBits) | 1; }

template <typename T>
T LoadAt(const char* record, size_t offset) {
  T value;
  std::memcpy(&value, record + offset, sizeof(value));
  return value;
}

size_t RecordBytes(const EntryView& view) {
  const size_t bytes =
      kRecordHeaderBytes + view.scope.size() + view.target.size() + view.event.size();
  return (bytes + RecordArena::kAlign - 1) / RecordArena::kAlign * RecordArena::kAlign;
}

size_t SlotsFor(size_t entries) {
  size_t slots = kSlotsMin;
  while (slots / 10 * 7 < entries) slots *= 2;
  return slots;
}

}  // namespace

struct SuppressionIndex::Table {
  explicit Table(size_t slot_count)
      : mask(slot_count - 1),
        slots(static_cast<std::atomic<uint64_t>*>(
            AllocatePages(slot_count * sizeof(std::atomic<uint64_t>)))) {
    CHECK_EQ(slot_count & mask, 0u);
    static_assert(std::atomic<uint64_t>::is_always_lock_free);
    for (size_t i = 0; i < slot_count; ++i) new (&slots[i]) std::atomic<uint64_t>(0);
  }
  ~Table() { FreePages(slots, bytes()); }
  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;
  size_t bytes() const { return (mask + 1) * sizeof(uint64_t); }
  uint64_t generation = 0;  // set before the table is published
  const uint64_t mask;
  std::atomic<uint64_t>* const slots;
};

Entry EntryView::ToEntry() const {
  return Entry{
      std::string(target), std::string(scope), reason, std::string(event), created, expires};
}

SuppressionIndex::SuppressionIndex() {
  tables_.push_back(std::make_unique<Table>(kSlotsMin));
  table_.store(tables_.back().get(), std::memory_order_release);
}

SuppressionIndex::~SuppressionIndex() = default;

uint64_t SuppressionIndex::HashKey(Key key) { return absl::HashOf(key.scope, key.target); }

EntryView SuppressionIndex::Decode(const char* record) {
  EntryView view;
  view.created = LoadAt<uint32_t>(record, kCreatedOffset);
  view.expires = LoadAt<uint32_t>(record, kExpiresOffset);
  view.reason = static_cast<Reason>(LoadAt<uint8_t>(record, kReasonOffset));
  const size_t scope_bytes = LoadAt<uint8_t>(record, kScopeLengthOffset);
  const size_t target_bytes = LoadAt<uint8_t>(record, kTargetLengthOffset);
  const size_t event_bytes = LoadAt<uint16_t>(record, kEventLengthOffset);
  const char* bytes = record + kRecordHeaderBytes;
  view.scope = absl::string_view(bytes, scope_bytes);
  view.target = absl::string_view(bytes + scope_bytes, target_bytes);
  view.event = absl::string_view(bytes + scope_bytes + target_bytes, event_bytes);
  return view;
}

SuppressionIndex::Found SuppressionIndex::FindSlot(const Table& table, Key key,
                                                   uint64_t hash) const {
  const uint64_t tag = TagOf(hash);
  uint64_t i = hash & table.mask;
  // The table is never full (load <= 0.7), so an empty slot ends every probe; the bound
  // only guards the invariant.
  for (uint64_t probes = 0; probes <= table.mask; ++probes, i = (i + 1) & table.mask) {
    const uint64_t slot = table.slots[i].load(std::memory_order_acquire);
    if (slot == 0) return Found{};
    if (slot == kTombstone || (slot >> kRefBits) != tag) continue;
    const char* record = arena_.At(slot & kRefMask);
    const size_t scope_bytes = LoadAt<uint8_t>(record, kScopeLengthOffset);
    const size_t target_bytes = LoadAt<uint8_t>(record, kTargetLengthOffset);
    const char* bytes = record + kRecordHeaderBytes;
    if (scope_bytes == key.scope.size() && target_bytes == key.target.size() &&
        std::memcmp(bytes, key.scope.data(), scope_bytes) == 0 &&
        std::memcmp(bytes + scope_bytes, key.target.data(), target_bytes) == 0) {
      return Found{static_cast<int64_t>(i), slot};
    }
  }
  return Found{};
}

std::optional<EntryView> SuppressionIndex::Find(absl::string_view scope,
                                                absl::string_view target) const {
  const Table& table = *table_.load(std::memory_order_acquire);
  const Key key{scope, target};
  // The slot value verified, not the slot read again: after a remove, the slot may be
  // reused for another key.
  const Found found = FindSlot(table, key, HashKey(key));
  if (found.index < 0) return std::nullopt;
  return Decode(arena_.At(found.slot & kRefMask));
}

std::optional<Match> SuppressionIndex::Check(absl::string_view sender, absl::string_view recipient,
                                             int64_t now) const {
  const size_t at = recipient.rfind('@');
  if (at == absl::string_view::npos) return std::nullopt;  // "postmaster": no domain
  // Lowercased copies on the stack: no allocation on the RCPT path.
  char address_buffer[kAddressBytesMax];
  char domain_buffer[kDomainBytesMax];
  char scope_buffer[kDomainBytesMax];
  absl::string_view address;
  absl::string_view domain;
  absl::string_view scope;
  if (recipient.size() <= kAddressBytesMax) {
    LowercaseInto(recipient, address_buffer);
    address = absl::string_view(address_buffer, recipient.size());
    domain = address.substr(at + 1);
  } else if (recipient.size() - at - 1 <= kDomainBytesMax) {
    const absl::string_view raw = recipient.substr(at + 1);
    LowercaseInto(raw, domain_buffer);
    domain = absl::string_view(domain_buffer, raw.size());
  }
  const size_t sender_at = sender.rfind('@');
  if (sender_at != absl::string_view::npos) sender.remove_prefix(sender_at + 1);
  if (sender.size() <= kDomainBytesMax) {
    LowercaseInto(sender, scope_buffer);
    scope = absl::string_view(scope_buffer, sender.size());
  }
  struct Probe {
    Key key;
    bool by_domain;
    uint64_t hash;
  };
  Probe probes[4];
  int count = 0;
  const Probe candidates[4] = {{{"", address}, false, 0},
                               {{"", domain}, true, 0},
                               {{scope, address}, false, 0},
                               {{scope, domain}, true, 0}};
  // Without a sender scope, the global keys only.
  for (int i = 0; i < (scope.empty() ? 2 : 4); ++i) {
    if (!candidates[i].key.target.empty()) probes[count++] = candidates[i];
  }
  // The four lookups' first slots are fetched from memory at once, not one after another.
  const Table& table = *table_.load(std::memory_order_acquire);
  for (int i = 0; i < count; ++i) {
    probes[i].hash = HashKey(probes[i].key);
    __builtin_prefetch(&table.slots[probes[i].hash & table.mask]);
  }
  for (int i = 0; i < count; ++i) {
    const Found found = FindSlot(table, probes[i].key, probes[i].hash);
    if (found.index < 0) continue;
    const EntryView view = Decode(arena_.At(found.slot & kRefMask));
    if (!view.expired(now)) return Match{view, probes[i].by_domain};
  }
  return std::nullopt;
}

void SuppressionIndex::ForEach(absl::FunctionRef<void(const EntryView&)> fn) const {
  const Table& table = *table_.load(std::memory_order_acquire);
  for (uint64_t i = 0; i <= table.mask; ++i) {
    const uint64_t slot = table.slots[i].load(std::memory_order_acquire);
    if (slot == 0 || slot == kTombstone) continue;
    fn(Decode(arena_.At(slot & kRefMask)));
  }
}

absl::StatusOr<std::optional<SuppressionIndex::ScanPosition>> SuppressionIndex::ForEachFrom(
    ScanPosition from, absl::FunctionRef<bool(const EntryView&)> fn) const {
  const Table& table = *table_.load(std::memory_order_acquire);
  if (from.slot != 0 && from.generation != table.generation) {
    return absl::FailedPreconditionError(
        "the suppression list was reorganised since this page: start the export again");
  }
  for (uint64_t i = from.slot; i <= table.mask; ++i) {
    const uint64_t slot = table.slots[i].load(std::memory_order_acquire);
    if (slot == 0 || slot == kTombstone) continue;
    if (!fn(Decode(arena_.At(slot & kRefMask)))) {
      if (i == table.mask) return std::nullopt;
      return ScanPosition{.generation = table.generation, .slot = i + 1};
    }
  }
  return std::nullopt;
}

void SuppressionIndex::CountAdd(Reason reason, int delta) {
  std::atomic<size_t>& count = reason_counts_[ReasonIndex(reason)];
  count.store(count.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
}

void SuppressionIndex::Put(const Entry& entry) {
  CHECK(ValidateEntry(entry).ok());
  char record[kRecordBytesMax];
  std::memset(record, 0, kRecordHeaderBytes);
  const auto created = static_cast<uint32_t>(entry.created);
  const auto expires = static_cast<uint32_t>(entry.expires);
  const auto reason = static_cast<uint8_t>(entry.reason);
  const auto scope_bytes = static_cast<uint8_t>(entry.scope.size());
  const auto target_bytes = static_cast<uint8_t>(entry.target.size());
  const auto event_bytes = static_cast<uint16_t>(entry.event.size());
  std::memcpy(record + kCreatedOffset, &created, 4);
  std::memcpy(record + kExpiresOffset, &expires, 4);
  std::memcpy(record + kReasonOffset, &reason, 1);
  std::memcpy(record + kScopeLengthOffset, &scope_bytes, 1);
  std::memcpy(record + kTargetLengthOffset, &target_bytes, 1);
  std::memcpy(record + kEventLengthOffset, &event_bytes, 2);
  char* bytes = record + kRecordHeaderBytes;
  std::memcpy(bytes, entry.scope.data(), scope_bytes);
  std::memcpy(bytes + scope_bytes, entry.target.data(), target_bytes);
  std::memcpy(bytes + scope_bytes + target_bytes, entry.event.data(), event_bytes);
  const size_t record_bytes = kRecordHeaderBytes + scope_bytes + target_bytes + event_bytes;

  absl::MutexLock lock(&writer_mutex_);
  const Key key{entry.scope, entry.target};
  const uint64_t hash = HashKey(key);
  Table* table = table_.load(std::memory_order_relaxed);
  const int64_t existing = FindSlot(*table, key, hash).index;
  if (existing < 0 && used_slots_ + 1 > (table->mask + 1) / 10 * 7) {
    const size_t live = live_.load(std::memory_order_relaxed);
    Rebuild(live + 1 > (table->mask + 1) / 2 ? (table->mask + 1) * 2 : table->mask + 1);
    table = table_.load(std::memory_order_relaxed);
  }
  // The record is complete before its slot is published (release).
  const uint64_t ref = arena_.Append(absl::string_view(record, record_bytes));
  CHECK_LT(ref, kTombstone);
  const uint64_t value = (TagOf(hash) << kRefBits) | ref;
  if (existing >= 0) {
    const uint64_t old = table->slots[existing].load(std::memory_order_relaxed);
    const EntryView old_view = Decode(arena_.At(old & kRefMask));
    CountAdd(old_view.reason, -1);
    garbage_bytes_.store(garbage_bytes_.load(std::memory_order_relaxed) + RecordBytes(old_view),
                         std::memory_order_relaxed);
    table->slots[existing].store(value, std::memory_order_release);
  } else {
    uint64_t i = hash & table->mask;
    for (;; i = (i + 1) & table->mask) {
      const uint64_t slot = table->slots[i].load(std::memory_order_relaxed);
      if (slot == 0) {
        ++used_slots_;
        break;
      }
      if (slot == kTombstone) break;  // reused: used_slots_ unchanged
    }
    table->slots[i].store(value, std::memory_order_release);
    live_.store(live_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  CountAdd(entry.reason, 1);
}

bool SuppressionIndex::Remove(absl::string_view scope, absl::string_view target) {
  absl::MutexLock lock(&writer_mutex_);
  Table* table = table_.load(std::memory_order_relaxed);
  const Key key{scope, target};
  const int64_t i = FindSlot(*table, key, HashKey(key)).index;
  if (i < 0) return false;
  const uint64_t old = table->slots[i].load(std::memory_order_relaxed);
  const EntryView old_view = Decode(arena_.At(old & kRefMask));
  CountAdd(old_view.reason, -1);
  garbage_bytes_.store(garbage_bytes_.load(std::memory_order_relaxed) + RecordBytes(old_view),
                       std::memory_order_relaxed);
  table->slots[i].store(kTombstone, std::memory_order_release);
  live_.store(live_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  return true;
}

void SuppressionIndex::Reserve(size_t entries) {
  absl::MutexLock lock(&writer_mutex_);
  const size_t slots = SlotsFor(entries);
  if (slots > table_.load(std::memory_order_relaxed)->mask + 1) Rebuild(slots);
}

void SuppressionIndex::Rebuild(size_t slot_count) {
  const Table& old = *table_.load(std::memory_order_relaxed);
  auto table = std::make_unique<Table>(slot_count);
  table->generation = ++generations_;
  size_t live = 0;
  for (uint64_t i = 0; i <= old.mask; ++i) {
    const uint64_t slot = old.slots[i].load(std::memory_order_relaxed);
    if (slot == 0 || slot == kTombstone) continue;
    const EntryView view = Decode(arena_.At(slot & kRefMask));
    uint64_t j = HashKey(Key{view.scope, view.target}) & table->mask;
    while (table->slots[j].load(std::memory_order_relaxed) != 0) j = (j + 1) & table->mask;
    table->slots[j].store(slot, std::memory_order_relaxed);
    ++live;
  }
  CHECK_EQ(live, live_.load(std::memory_order_relaxed));
  CHECK_LE(live * 10, slot_count * 7);
  used_slots_ = live;
  retired_bytes_.store(retired_bytes_.load(std::memory_order_relaxed) + old.bytes(),
                       std::memory_order_relaxed);
  table_.store(table.get(), std::memory_order_release);  // readers switch over
  tables_.push_back(std::move(table));
}

void SuppressionIndex::ReleaseRetiredTables() {
  absl::MutexLock lock(&writer_mutex_);
  tables_.erase(tables_.begin(), tables_.end() - 1);
  retired_bytes_.store(0, std::memory_order_relaxed);
}

size_t SuppressionIndex::table_slots() const {
  return table_.load(std::memory_order_acquire)->mask + 1;
}

size_t SuppressionIndex::memory_bytes() const {
  return table_slots() * sizeof(uint64_t) + retired_bytes_.load(std::memory_order_relaxed) +
         arena_.used_bytes();
}

}  // namespace tern::suppression
