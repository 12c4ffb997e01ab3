// SuppressionJournal: entries survive a reopen; a torn tail at every byte offset of the
// last record is cut and everything before it kept; corruption in the middle is an error
// naming the file and offset; compaction keeps exactly the live set (expired entries
// dropped) and survives a crash before and after its rename.
#include "suppression/suppression_journal.h"

#include <unistd.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/suppression/suppression_test_util.h"

namespace tern::suppression {
namespace {

using testing::MakeEntry;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

// The index's entries as a sorted map "scope|target" -> entry, to compare live sets.
std::map<std::string, Entry> Contents(const SuppressionIndex& index) {
  std::map<std::string, Entry> out;
  index.ForEach(
      [&](const EntryView& e) { out[absl::StrCat(e.scope, "|", e.target)] = e.ToEntry(); });
  return out;
}

JournalRecord Add(Entry e) { return JournalRecord{JournalRecordType::kAdd, std::move(e)}; }
JournalRecord Del(std::string scope, std::string target) {
  JournalRecord r{JournalRecordType::kRemove, {}};
  r.entry.scope = std::move(scope);
  r.entry.target = std::move(target);
  return r;
}

class SuppressionJournalTest : public ::testing::Test {
 protected:
  std::string journal_path() const { return absl::StrCat(dir_.path(), "/suppression.journal"); }
  std::string temp_path() const { return absl::StrCat(dir_.path(), "/suppression.journal.tmp"); }
  absl::StatusOr<std::unique_ptr<SuppressionJournal>> Open(SuppressionIndex* index) {
    return SuppressionJournal::Open(JournalOptions{dir_.path()}, index);
  }
  TempDir dir_;
};

TEST_F(SuppressionJournalTest, EntriesSurviveAReopen) {
  {
    SuppressionIndex index;
    auto journal = Open(&index);
    ASSERT_TRUE(journal.ok()) << journal.status();
    ASSERT_TRUE((*journal)
                    ->Append({Add(MakeEntry("a@example.com")),
                              Add(MakeEntry("example.net", "s.example", Reason::kComplaint, 5, 99,
                                            "fbl, \"quoted\"\nline two")),
                              Add(MakeEntry("b@example.com")), Del("", "b@example.com"),
                              Add(MakeEntry("a@example.com", "", Reason::kManual))})
                    .ok());
  }
  SuppressionIndex index;
  auto journal = Open(&index);
  ASSERT_TRUE(journal.ok()) << journal.status();
  EXPECT_EQ((*journal)->recovered_records(), 5u);
  EXPECT_EQ((*journal)->torn_bytes(), 0u);
  std::map<std::string, Entry> contents = Contents(index);
  ASSERT_EQ(contents.size(), 2u);
  EXPECT_EQ(contents["|a@example.com"].reason, Reason::kManual);
  EXPECT_EQ(contents["s.example|example.net"],
            MakeEntry("example.net", "s.example", Reason::kComplaint, 5, 99,
                      "fbl, \"quoted\"\nline two"));
}

TEST_F(SuppressionJournalTest, TornTailAtEveryByteOfTheLastRecordIsCut) {
  std::string whole;
  size_t last_record_at = 0;
  {
    SuppressionIndex index;
    auto journal = Open(&index);
    ASSERT_TRUE(journal.ok());
    ASSERT_TRUE((*journal)
                    ->Append({Add(MakeEntry("a@example.com")), Add(MakeEntry("b@example.com"))})
                    .ok());
    last_record_at = (*journal)->file_bytes();
    ASSERT_TRUE((*journal)
                    ->Append({Add(MakeEntry("c@example.com", "", Reason::kComplaint, 7, 0,
                                            std::string(200, 'e')))})
                    .ok());
    whole = ReadFile(journal_path());
  }
  ASSERT_GT(whole.size(), last_record_at);
  for (size_t cut = last_record_at; cut < whole.size(); ++cut) {
    WriteFile(journal_path(), absl::string_view(whole).substr(0, cut));
    SuppressionIndex index;
    auto journal = Open(&index);
    ASSERT_TRUE(journal.ok()) << "cut at " << cut << ": " << journal.status();
    EXPECT_EQ(index.size(), 2u) << cut;
    EXPECT_TRUE(index.Find("", "b@example.com")) << cut;
    EXPECT_EQ((*journal)->torn_bytes(), cut - last_record_at);
    EXPECT_EQ(ReadFile(journal_path()).size(), last_record_at) << "the tail is cut off";
    // Appending after the cut gives a clean journal.
    ASSERT_TRUE((*journal)->Append({Add(MakeEntry("d@example.com"))}).ok());
    journal->reset();
    SuppressionIndex again;
    ASSERT_TRUE(Open(&again).ok());
    EXPECT_EQ(again.size(), 3u) << cut;
  }
  // A tail of garbage (a crash that left zeros or junk) is a torn tail too.
  WriteFile(journal_path(), whole.substr(0, last_record_at) + std::string(37, '\0'));
  SuppressionIndex index;
  ASSERT_TRUE(Open(&index).ok());
  EXPECT_EQ(index.size(), 2u);
}

TEST_F(SuppressionJournalTest, CorruptionInTheMiddleIsAnErrorNamingFileAndOffset) {
  size_t second_at = 0;
  {
    SuppressionIndex index;
    auto journal = Open(&index);
    ASSERT_TRUE(journal.ok());
    ASSERT_TRUE((*journal)->Append({Add(MakeEntry("a@example.com"))}).ok());
    second_at = (*journal)->file_bytes();
    ASSERT_TRUE((*journal)->Append({Add(MakeEntry("b@example.com"))}).ok());
    ASSERT_TRUE((*journal)->Append({Add(MakeEntry("c@example.com"))}).ok());
  }
  const std::string whole = ReadFile(journal_path());
  for (size_t flip : {second_at, second_at + 5, second_at + 9, second_at + 20}) {
    std::string bad = whole;
    bad[flip] ^= 0x40;
    WriteFile(journal_path(), bad);
    SuppressionIndex index;
    auto journal = Open(&index);
    ASSERT_FALSE(journal.ok()) << "flip at " << flip;
    EXPECT_EQ(journal.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(journal.status().message().find(journal_path()), std::string::npos);
    EXPECT_NE(journal.status().message().find(absl::StrCat("offset ", second_at)),
              std::string::npos)
        << journal.status();
    EXPECT_EQ(ReadFile(journal_path()), bad) << "nothing is cut";
  }
}

TEST_F(SuppressionJournalTest, NotAJournalIsRefused) {
  WriteFile(journal_path(), "hello, world: not a journal");
  SuppressionIndex index;
  EXPECT_FALSE(Open(&index).ok());
}

// Builds a journal with replaced, removed and expired entries; returns the live set
// expected after a compaction at `now`.
std::map<std::string, Entry> FillForCompaction(SuppressionJournal* journal, SuppressionIndex* index,
                                               int64_t now) {
  std::vector<JournalRecord> records;
  std::map<std::string, Entry> live;
  for (int i = 0; i < 300; ++i) {
    const std::string target = absl::StrCat("u", i, "@example.com");
    records.push_back(Add(MakeEntry(target, "", Reason::kHardBounce, 10)));
    if (i % 3 == 0) {
      records.push_back(Del("", target));
    } else if (i % 3 == 1) {
      Entry e = MakeEntry(target, "", Reason::kComplaint, 20, i % 2 == 0 ? now - 1 : now + 100);
      records.push_back(Add(e));
      if (e.expires > now) live[absl::StrCat("|", target)] = e;
    } else {
      live[absl::StrCat("|", target)] = MakeEntry(target, "", Reason::kHardBounce, 10);
    }
  }
  CHECK(journal->Append(records).ok());
  for (const JournalRecord& r : records) {  // what the writer thread does after the append
    if (r.type == JournalRecordType::kAdd) {
      index->Put(r.entry);
    } else {
      index->Remove(r.entry.scope, r.entry.target);
    }
  }
  return live;
}

TEST_F(SuppressionJournalTest, CompactionKeepsExactlyTheLiveSet) {
  constexpr int64_t kNow = 1000;
  std::map<std::string, Entry> live;
  uint64_t before = 0;
  {
    SuppressionIndex index;
    auto journal = Open(&index);
    ASSERT_TRUE(journal.ok());
    live = FillForCompaction(journal->get(), &index, kNow);
    before = (*journal)->file_bytes();
    ASSERT_TRUE((*journal)->Compact(&index, kNow).ok());
    EXPECT_LT((*journal)->file_bytes(), before);
    EXPECT_EQ(Contents(index), live) << "expired entries leave the index too";
    // The compacted journal takes appends.
    ASSERT_TRUE((*journal)->Append({Add(MakeEntry("late@example.com"))}).ok());
    live["|late@example.com"] = MakeEntry("late@example.com");
  }
  EXPECT_FALSE(access(temp_path().c_str(), F_OK) == 0);
  SuppressionIndex index;
  auto journal = Open(&index);
  ASSERT_TRUE(journal.ok()) << journal.status();
  EXPECT_EQ(Contents(index), live);
}

TEST_F(SuppressionJournalTest, CompactionSurvivesACrashAtEachStep) {
  constexpr int64_t kNow = 1000;
  for (CompactionStop stop :
       {CompactionStop::kAfterWrite, CompactionStop::kAfterSync, CompactionStop::kAfterRename}) {
    ::unlink(journal_path().c_str());
    std::map<std::string, Entry> live;
    std::map<std::string, Entry> before_compaction;
    {
      SuppressionIndex index;
      auto journal = Open(&index);
      ASSERT_TRUE(journal.ok());
      live = FillForCompaction(journal->get(), &index, kNow);
      before_compaction = Contents(index);
      EXPECT_EQ((*journal)->Compact(&index, kNow, stop).code(), absl::StatusCode::kAborted);
    }
    SuppressionIndex index;
    auto journal = Open(&index);
    ASSERT_TRUE(journal.ok()) << journal.status();
    EXPECT_FALSE(access(temp_path().c_str(), F_OK) == 0) << "a leftover temp file is removed";
    if (stop == CompactionStop::kAfterRename) {
      EXPECT_EQ(Contents(index), live) << "the snapshot is the journal now";
    } else {
      EXPECT_EQ(Contents(index), before_compaction) << "the old journal is whole";
    }
    size_t unexpired = 0;
    for (const auto& [key, e] : Contents(index)) unexpired += (e.expires == 0 || e.expires > kNow);
    EXPECT_EQ(unexpired, live.size());
  }
}

TEST_F(SuppressionJournalTest, ShouldCompactWhenMuchLargerThanTheLiveSet) {
  SuppressionIndex index;
  auto journal = SuppressionJournal::Open(
      JournalOptions{dir_.path(), /*compact_bytes_min=*/4096, /*compact_ratio=*/2}, &index);
  ASSERT_TRUE(journal.ok());
  EXPECT_FALSE((*journal)->ShouldCompact(index));
  for (int i = 0; i < 200; ++i) {
    Entry e = MakeEntry("same@example.com", "", Reason::kHardBounce, i);
    ASSERT_TRUE((*journal)->Append({Add(e)}).ok());
    index.Put(e);
  }
  EXPECT_TRUE((*journal)->ShouldCompact(index));
  ASSERT_TRUE((*journal)->Compact(&index, 0).ok());
  EXPECT_FALSE((*journal)->ShouldCompact(index));
  EXPECT_EQ(index.Find("", "same@example.com")->created, 199);
}

}  // namespace
}  // namespace tern::suppression
