// SuppressionIndex: scope matching (table), domain entries, expiry, replace, remove, counts,
// growth; and readers on four threads while a writer adds, replaces, removes and grows the
// table a million times (no reader ever sees a torn or wrong record).
#include "suppression/suppression_index.h"

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/suppression/suppression_test_util.h"

namespace tern::suppression {
namespace {

using testing::MakeEntry;

TEST(SuppressionIndex, ScopeMatchingTable) {
  SuppressionIndex index;
  index.Put(MakeEntry("global@example.com"));
  index.Put(MakeEntry("blocked.example"));  // a whole domain, globally
  index.Put(MakeEntry("scoped@example.com", "news.example", Reason::kComplaint));
  index.Put(MakeEntry("scoped.example", "news.example", Reason::kUnsubscribe));
  struct Case {
    const char* sender;
    const char* recipient;
    bool suppressed;
    bool by_domain;
    const char* scope;
  } cases[] = {
      {"", "global@example.com", true, false, ""},
      {"news.example", "GLOBAL@Example.COM", true, false, ""},
      {"other.example", "anyone@blocked.example", true, true, ""},
      {"", "anyone@BLOCKED.example", true, true, ""},
      {"news.example", "scoped@example.com", true, false, "news.example"},
      {"NEWS.example", "scoped@example.com", true, false, "news.example"},
      {"bob@news.example", "scoped@example.com", true, false, "news.example"},  // an address
      {"other.example", "scoped@example.com", false, false, ""},
      {"", "scoped@example.com", false, false, ""},  // null sender: global only
      {"news.example", "x@scoped.example", true, true, "news.example"},
      {"other.example", "x@scoped.example", false, false, ""},
      {"news.example", "other@example.com", false, false, ""},
      {"news.example", "postmaster", false, false, ""},
      {"news.example", "user@sub.blocked.example", false, false, ""},  // not a parent match
  };
  for (const Case& c : cases) {
    std::optional<Match> m = index.Check(c.sender, c.recipient, 2000);
    ASSERT_EQ(m.has_value(), c.suppressed) << c.sender << " -> " << c.recipient;
    if (!m) continue;
    EXPECT_EQ(m->by_domain, c.by_domain) << c.recipient;
    EXPECT_EQ(m->entry.scope, c.scope) << c.recipient;
    EXPECT_EQ(m->global(), std::string(c.scope).empty());
  }
}

TEST(SuppressionIndex, GlobalAddressWinsOverDomainAndScope) {
  SuppressionIndex index;
  index.Put(MakeEntry("u@example.com", "s.example", Reason::kComplaint));
  index.Put(MakeEntry("example.com", "", Reason::kManual));
  index.Put(MakeEntry("u@example.com", "", Reason::kHardBounce));
  std::optional<Match> m = index.Check("s.example", "u@example.com", 2000);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->entry.reason, Reason::kHardBounce);
  EXPECT_FALSE(m->by_domain);
}

TEST(SuppressionIndex, ExpiredEntryCountsAsAbsent) {
  SuppressionIndex index;
  index.Put(MakeEntry("u@example.com", "", Reason::kHardBounce, 1000, 5000));
  index.Put(MakeEntry("example.com", "", Reason::kManual, 1000, 0));
  EXPECT_EQ(index.Check("", "u@example.com", 4999)->entry.reason, Reason::kHardBounce);
  // At 5000 the address entry is gone; the domain entry (never expires) still matches.
  std::optional<Match> m = index.Check("", "u@example.com", 5000);
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->by_domain);
  index.Remove("", "example.com");
  EXPECT_FALSE(index.Check("", "u@example.com", 5000));
  EXPECT_TRUE(index.Find("", "u@example.com").has_value()) << "Find sees expired entries";
}

TEST(SuppressionIndex, AddingAgainReplaces) {
  SuppressionIndex index;
  index.Put(MakeEntry("u@example.com", "", Reason::kHardBounce, 1000, 0, "first"));
  index.Put(MakeEntry("u@example.com", "", Reason::kComplaint, 3000, 0, "second"));
  EXPECT_EQ(index.size(), 1u);
  EXPECT_EQ(index.count(Reason::kHardBounce), 0u);
  EXPECT_EQ(index.count(Reason::kComplaint), 1u);
  std::optional<Match> m = index.Check("", "u@example.com", 4000);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->entry.event, "second");
  EXPECT_EQ(m->entry.created, 3000);
  EXPECT_GT(index.garbage_bytes(), 0u);
}

TEST(SuppressionIndex, RemoveAndCounts) {
  SuppressionIndex index;
  index.Put(MakeEntry("a@example.com", "", Reason::kHardBounce));
  index.Put(MakeEntry("b@example.com", "", Reason::kComplaint));
  index.Put(MakeEntry("b@example.com", "s.example", Reason::kComplaint));
  EXPECT_EQ(index.size(), 3u);
  EXPECT_EQ(index.count(Reason::kComplaint), 2u);
  EXPECT_TRUE(index.Remove("", "b@example.com"));
  EXPECT_FALSE(index.Remove("", "b@example.com"));
  EXPECT_FALSE(index.Check("", "b@example.com", 2000));
  EXPECT_TRUE(index.Check("s.example", "b@example.com", 2000)) << "the scoped entry stays";
  EXPECT_EQ(index.size(), 2u);
  EXPECT_EQ(index.count(Reason::kComplaint), 1u);
  // A removed key can come back.
  index.Put(MakeEntry("b@example.com", "", Reason::kManual));
  EXPECT_EQ(index.Check("", "b@example.com", 2000)->entry.reason, Reason::kManual);
}

TEST(SuppressionIndex, GrowsAndKeepsEveryEntry) {
  SuppressionIndex index;
  const size_t slots = index.table_slots();
  constexpr int kEntries = 50000;
  for (int i = 0; i < kEntries; ++i) index.Put(MakeEntry(absl::StrCat("user", i, "@example.com")));
  EXPECT_GT(index.table_slots(), slots);
  EXPECT_EQ(index.size(), static_cast<size_t>(kEntries));
  for (int i = 0; i < kEntries; ++i) {
    ASSERT_TRUE(index.Check("", absl::StrCat("user", i, "@example.com"), 2000)) << i;
  }
  EXPECT_FALSE(index.Check("", "user50000@example.com", 2000));
  size_t seen = 0;
  index.ForEach([&](const EntryView&) { ++seen; });
  EXPECT_EQ(seen, static_cast<size_t>(kEntries));
  index.ReleaseRetiredTables();
  EXPECT_TRUE(index.Check("", "user7@example.com", 2000));
}

TEST(SuppressionIndex, ForEachFromPagesThroughEveryEntryOnce) {
  SuppressionIndex index;
  constexpr int kEntries = 2500;
  for (int i = 0; i < kEntries; ++i) index.Put(MakeEntry(absl::StrCat("user", i, "@example.com")));
  std::vector<std::string> seen;
  SuppressionIndex::ScanPosition from;
  int pages = 0;
  while (true) {
    size_t page = 0;
    auto next = index.ForEachFrom(from, [&](const EntryView& e) {
      seen.emplace_back(e.target);
      return ++page < 300;
    });
    ASSERT_TRUE(next.ok()) << next.status();
    ++pages;
    EXPECT_LE(page, 300u);
    if (!next->has_value()) break;
    EXPECT_GT((*next)->slot, from.slot);
    from = **next;
  }
  EXPECT_GE(pages, kEntries / 300);
  std::sort(seen.begin(), seen.end());
  ASSERT_EQ(seen.size(), static_cast<size_t>(kEntries));
  EXPECT_EQ(std::unique(seen.begin(), seen.end()), seen.end());
}

TEST(SuppressionIndex, ForEachFromRefusesAPositionOfAnOlderTable) {
  SuppressionIndex index;
  for (int i = 0; i < 10; ++i) index.Put(MakeEntry(absl::StrCat("user", i, "@example.com")));
  auto first = index.ForEachFrom({}, [](const EntryView&) { return false; });
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->has_value());
  for (int i = 10; i < 5000; ++i) index.Put(MakeEntry(absl::StrCat("user", i, "@example.com")));
  auto later = index.ForEachFrom(**first, [](const EntryView&) { return true; });
  EXPECT_EQ(later.status().code(), absl::StatusCode::kFailedPrecondition);
  // The start is valid for any table.
  size_t count = 0;
  auto all = index.ForEachFrom({.generation = 99}, [&](const EntryView&) { return ++count, true; });
  ASSERT_TRUE(all.ok());
  EXPECT_FALSE(all->has_value());
  EXPECT_EQ(count, 5000u);
}

TEST(SuppressionIndex, ChurnOfRemovesKeepsTheTableBounded) {
  SuppressionIndex index;
  for (int i = 0; i < 200000; ++i) {
    index.Put(MakeEntry(absl::StrCat("u", i, "@example.com")));
    if (i >= 100) ASSERT_TRUE(index.Remove("", absl::StrCat("u", i - 100, "@example.com")));
  }
  EXPECT_EQ(index.size(), 100u);
  EXPECT_LE(index.table_slots(), 1024u) << "tombstones are purged, not grown over";
  for (int i = 199900; i < 200000; ++i) {
    ASSERT_TRUE(index.Check("", absl::StrCat("u", i, "@example.com"), 2000));
  }
}

// The event of an entry written by the concurrency test: its target and a version, from
// which its created time and reason follow, so a reader can tell a torn or foreign record.
std::string EventOf(absl::string_view target, int64_t version) {
  return absl::StrCat(target, "#", version);
}
Reason ReasonOf(int64_t version) { return static_cast<Reason>(1 + version % kReasonCount); }

bool RecordIsWhole(const EntryView& e, absl::string_view target) {
  if (e.target != target) return false;
  const std::string prefix = absl::StrCat(target, "#");
  if (e.event.substr(0, prefix.size()) != prefix) return false;
  int64_t version;
  if (!absl::SimpleAtoi(e.event.substr(prefix.size()), &version)) return false;
  return e.created == version && e.reason == ReasonOf(version) && e.expires == 0;
}

TEST(SuppressionIndex, ReadersNeverSeeATornOrWrongRecord) {
  SuppressionIndex index;
  constexpr int kStable = 64;     // always present, replaced now and then
  constexpr int kWindow = 20000;  // rolling keys: added, then removed kWindow later
  constexpr int kOperations = 1000000;
  auto stable = [](int i) { return absl::StrCat("stable", i, "@example.com"); };
  auto rolling = [](int i) { return absl::StrCat("r", i, "@example.org"); };
  auto put = [&](const std::string& target, int64_t version) {
    index.Put(Entry{target, "", ReasonOf(version), EventOf(target, version), version, 0});
  };
  for (int i = 0; i < kStable; ++i) put(stable(i), 1);

  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::atomic<uint64_t> checks{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&, r] {
      uint64_t n = 0;
      char address[64];
      while (!done.load(std::memory_order_relaxed)) {
        const int i = static_cast<int>((n * 7919 + r) % kStable);
        const std::string s = stable(i);
        std::optional<Match> m = index.Check("", s, 1);
        if (!m || !RecordIsWhole(m->entry, s)) failures.fetch_add(1);
        // A rolling key: absent or whole, never another key's record.
        const int k = static_cast<int>((n * 104729 + r) % (kOperations / 2));
        const int len = snprintf(address, sizeof(address), "r%d@example.org", k);
        const absl::string_view target(address, static_cast<size_t>(len));
        if (std::optional<Match> hit = index.Check("", target, 1)) {
          if (!RecordIsWhole(hit->entry, target)) failures.fetch_add(1);
        }
        if (index.Check("", "never@example.net", 1)) failures.fetch_add(1);
        ++n;
      }
      checks.fetch_add(n);
    });
  }
  int64_t version = 2;
  for (int op = 0; op < kOperations; ++op, ++version) {
    const int i = op / 2;
    if (op % 2 == 0) {
      put(rolling(i), version);
      if (i >= kWindow) index.Remove("", rolling(i - kWindow));
    } else {
      put(stable(i % kStable), version);  // replace
    }
  }
  done.store(true);
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(checks.load(), 0u);
  EXPECT_EQ(index.size(), static_cast<size_t>(kStable + kWindow));
  for (int i = kOperations / 2 - kWindow; i < kOperations / 2; ++i) {
    ASSERT_TRUE(index.Check("", rolling(i), 1)) << i;
  }
}

}  // namespace
}  // namespace tern::suppression
