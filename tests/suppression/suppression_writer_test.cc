// SuppressionWriter: a completion comes after the entry is durable (in the journal on disk)
// and visible (Check finds it); many queued requests share one group commit; a full queue
// refuses at once; removal reports NotFound for an absent entry; an import is one request;
// SuppressionList opens, adds and recovers across a restart.
#include "suppression/suppression_writer.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "suppression/suppression_list.h"
#include "tests/suppression/suppression_test_util.h"

namespace tern::suppression {
namespace {

using testing::MakeEntry;
using testing::TempDir;

class SuppressionWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto journal = SuppressionJournal::Open(JournalOptions{dir_.path()}, &index_);
    ASSERT_TRUE(journal.ok()) << journal.status();
    journal_ = std::move(*journal);
  }
  // The entries a fresh open of the journal recovers.
  size_t Recovered() {
    SuppressionIndex index;
    auto journal = SuppressionJournal::Open(JournalOptions{dir_.path()}, &index);
    CHECK(journal.ok());
    return index.size();
  }
  TempDir dir_;
  SuppressionIndex index_;
  std::unique_ptr<SuppressionJournal> journal_;
};

TEST_F(SuppressionWriterTest, DoneComesWhenDurableAndVisible) {
  SuppressionWriter writer(journal_.get(), &index_, {});
  absl::Notification done;
  absl::Status result = absl::UnknownError("not called");
  bool visible = false;
  size_t on_disk = 0;
  ASSERT_TRUE(writer
                  .Add(MakeEntry("u@example.com"),
                       [&](absl::Status s) {
                         result = s;
                         visible = index_.Check("", "u@example.com", 2000).has_value();
                         on_disk = Recovered();
                         done.Notify();
                       })
                  .ok());
  done.WaitForNotification();
  EXPECT_TRUE(result.ok()) << result;
  EXPECT_TRUE(visible);
  EXPECT_EQ(on_disk, 1u);
}

TEST_F(SuppressionWriterTest, QueuedRequestsShareAGroupCommit) {
  WriterOptions options;
  std::vector<absl::Status> results(200);
  absl::Notification all;
  std::atomic<int> left{200};
  {
    SuppressionWriter writer(journal_.get(), &index_, options);
    for (int i = 0; i < 200; ++i) {
      ASSERT_TRUE(writer
                      .Add(MakeEntry(absl::StrCat("u", i, "@example.com")),
                           [&, i](absl::Status s) {
                             results[i] = s;
                             if (--left == 0) all.Notify();
                           })
                      .ok());
    }
    all.WaitForNotification();
    EXPECT_LT(writer.batches(), 200u) << "at least some adds shared an fdatasync";
  }
  for (const absl::Status& s : results) EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(index_.size(), 200u);
  EXPECT_EQ(Recovered(), 200u);
}

TEST_F(SuppressionWriterTest, AFullQueueRefusesAtOnce) {
  WriterOptions options;
  options.queue_requests_max = 2;
  SuppressionWriter writer(journal_.get(), &index_, options);
  // Block the writer thread inside the first completion, so that the queue fills.
  absl::Notification release;
  absl::Notification blocked;
  ASSERT_TRUE(writer
                  .Add(MakeEntry("a@example.com"),
                       [&](absl::Status) {
                         blocked.Notify();
                         release.WaitForNotification();
                       })
                  .ok());
  blocked.WaitForNotification();
  EXPECT_TRUE(writer.Add(MakeEntry("b@example.com"), nullptr).ok());
  EXPECT_TRUE(writer.Add(MakeEntry("c@example.com"), nullptr).ok());
  EXPECT_EQ(writer.Add(MakeEntry("d@example.com"), nullptr).code(),
            absl::StatusCode::kResourceExhausted);
  release.Notify();
  writer.Stop();
  EXPECT_EQ(index_.size(), 3u);
  EXPECT_EQ(writer.Add(MakeEntry("e@example.com"), nullptr).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(SuppressionWriterTest, InvalidEntryIsRefusedBeforeQueueing) {
  SuppressionWriter writer(journal_.get(), &index_, {});
  EXPECT_EQ(writer.Add(MakeEntry("User@Example.com"), nullptr).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(SuppressionWriterTest, RemoveReportsNotFoundAndSurvivesReopen) {
  SuppressionWriter writer(journal_.get(), &index_, {});
  absl::Notification added;
  ASSERT_TRUE(writer
                  .AddAll({MakeEntry("a@example.com"), MakeEntry("b@example.com")},
                          [&](absl::Status s) {
                            EXPECT_TRUE(s.ok());
                            added.Notify();
                          })
                  .ok());
  added.WaitForNotification();
  absl::Notification removed;
  absl::Status first;
  absl::Status second;
  ASSERT_TRUE(writer.Remove("", "a@example.com", [&](absl::Status s) { first = s; }).ok());
  ASSERT_TRUE(writer
                  .Remove("", "a@example.com",
                          [&](absl::Status s) {
                            second = s;
                            removed.Notify();
                          })
                  .ok());
  removed.WaitForNotification();
  EXPECT_TRUE(first.ok()) << first;
  EXPECT_EQ(second.code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(index_.Check("", "a@example.com", 2000));
  EXPECT_EQ(Recovered(), 1u);
}

TEST_F(SuppressionWriterTest, CompactsWhenTheJournalOutgrowsTheLiveSet) {
  journal_.reset();
  SuppressionIndex index;
  auto journal = SuppressionJournal::Open(JournalOptions{dir_.path(), 4096, 2}, &index);
  ASSERT_TRUE(journal.ok());
  WriterOptions options;
  options.clock = [] { return int64_t{5000}; };
  SuppressionWriter writer(journal->get(), &index, options);
  absl::Notification done;
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(writer
                    .Add(MakeEntry("same@example.com", "", Reason::kManual, i),
                         [&, i](absl::Status) {
                           if (i == 499) done.Notify();
                         })
                    .ok());
  }
  done.WaitForNotification();
  writer.Stop();
  EXPECT_LT((*journal)->file_bytes(), 4096u * 2);
  journal->reset();
  SuppressionIndex again;
  ASSERT_TRUE(SuppressionJournal::Open(JournalOptions{dir_.path()}, &again).ok());
  EXPECT_EQ(again.Find("", "same@example.com")->created, 499);
}

}  // namespace
}  // namespace tern::suppression

namespace tern::suppression {
namespace {

TEST(SuppressionList, OpensAddsAndRecoversAcrossARestart) {
  testing::TempDir dir;
  {
    auto list = SuppressionList::Open(JournalOptions{dir.path()}, {});
    ASSERT_TRUE(list.ok()) << list.status();
    absl::Notification done;
    ASSERT_TRUE((*list)
                    ->writer()
                    .Add(testing::MakeEntry("u@example.com"),
                         [&](absl::Status s) {
                           EXPECT_TRUE(s.ok());
                           done.Notify();
                         })
                    .ok());
    done.WaitForNotification();
    EXPECT_TRUE((*list)->index().Check("", "U@example.com", 2000));
  }
  auto list = SuppressionList::Open(JournalOptions{dir.path()}, {});
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ((*list)->journal().recovered_records(), 1u);
  EXPECT_TRUE((*list)->index().Check("", "u@example.com", 2000));
}

}  // namespace
}  // namespace tern::suppression
