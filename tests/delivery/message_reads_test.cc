// Tests of delivery/message_reads.h on a real spool: one read and one signature per attempt
// for all its jobs, kept only while bounded and until the attempt is forgotten.
#include "delivery/message_reads.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/spool/spool_fixture.h"

namespace tern::delivery {
namespace {

class MessageReadsTest : public spool::testing::SpoolFixture {
 protected:
  void SetUp() override {
    loop_ = NewLoop();
    spool_ = Open(loop_.get(), Options());
  }
  // A step that commits a message from rsa.test of about `bytes` into `*id`, then one that
  // waits until it is durable.
  std::vector<std::function<bool()>> CommitSteps(uint64_t* id, size_t bytes = 2000) {
    return {[this, id, bytes] {
              *id = Commit(spool_.get(),
                           absl::StrCat("From: a@rsa.test\r\n", spool::testing::Body(7, bytes)));
              return true;
            },
            [this, id] { return committed_.contains(*id) && committed_[*id].ok(); }};
  }
  // Runs the loop through `steps` (once per test: a loop runs once), then shuts the spool.
  void RunAll(std::vector<std::vector<std::function<bool()>>> groups) {
    std::vector<std::function<bool()>> steps;
    for (auto& group : groups) {
      for (auto& step : group) steps.push_back(std::move(step));
    }
    Run(loop_.get(), spool_.get(), std::move(steps), absl::Seconds(30));
  }
  std::shared_ptr<const DkimSigner> Signer() {
    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048});
    CHECK(key != nullptr);
    const std::string path = (std::filesystem::path(Options().spool_dir) / "rsa.pem").string();
    FILE* f = std::fopen(path.c_str(), "w");
    CHECK(f != nullptr);
    PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    EVP_PKEY_free(key);
    auto signer = DkimSigner::Create({"rsa.test:s1:" + path});
    CHECK(signer.ok());
    return std::shared_ptr<const DkimSigner>(*std::move(signer));
  }

  std::unique_ptr<core::Loop> loop_;
  std::unique_ptr<spool::ShardSpool> spool_;
};

TEST_F(MessageReadsTest, JobsOfOneAttemptShareOneReadAndOneSignature) {
  MessageReads reads(loop_.get(), spool_.get(), Signer());
  uint64_t id = 0;
  std::vector<SharedMessage> got;
  bool called_inside = false;
  uint64_t spool_reads_before = 0;
  size_t kept_after_reads = 0;
  size_t entries_after_forget = 1;
  SharedMessage again;
  auto get = [&](uint64_t generation, uint32_t jobs_left, SharedMessage* into) {
    auto inside = std::make_shared<bool>(true);
    reads.Get(id, generation, jobs_left, [&, into, inside](absl::StatusOr<SharedMessage> m) {
      called_inside = called_inside || *inside;
      ASSERT_TRUE(m.ok()) << m.status();
      if (into != nullptr) {
        *into = *m;
      } else {
        got.push_back(*m);
      }
    });
    *inside = false;
  };
  RunAll({CommitSteps(&id),
          {[&] {
             spool_reads_before = spool_->counters().messages_read.load();
             // Three jobs (three lanes): two ask while the read is in flight...
             get(1, 3, nullptr);
             get(1, 3, nullptr);
             return true;
           },
           [&] { return got.size() == 2; },
           [&] {
             get(1, 3, nullptr);  // ... and one once it is done
             return true;
           },
           [&] { return got.size() == 3; },
           [&] {
             kept_after_reads = reads.kept_bytes();
             // The attempt is over: nothing kept; the next attempt reads (and signs) again.
             reads.Forget(id);
             entries_after_forget = reads.entries();
             get(2, 1, &again);
             return true;
           },
           [&] { return again != nullptr; }}});
  ASSERT_EQ(got.size(), 3u);
  EXPECT_FALSE(called_inside);
  EXPECT_EQ(got[0], got[1]);
  EXPECT_EQ(got[0], got[2]);
  EXPECT_TRUE(absl::StartsWith(got[0]->signature, "DKIM-Signature:")) << got[0]->signature;
  EXPECT_EQ(got[0]->message.queue_id(), id);
  EXPECT_EQ(reads.shared_reads(), 2u);
  EXPECT_EQ(kept_after_reads, got[0]->message.record().size());
  EXPECT_EQ(entries_after_forget, 0u);
  ASSERT_NE(again, nullptr);
  EXPECT_NE(again, got[0]);
  EXPECT_EQ(again->message.body(), got[0]->message.body());
  EXPECT_EQ(reads.spool_reads(), 2u);
  EXPECT_EQ(spool_->counters().messages_read.load() - spool_reads_before, 2u);
  // One job only: nothing is kept after its read.
  EXPECT_EQ(reads.entries(), 0u);
  EXPECT_EQ(reads.kept_bytes(), 0u);
}

TEST_F(MessageReadsTest, KeepsNoMoreThanItsBound) {
  DeliveryCounters counters;
  MessageReads reads(loop_.get(), spool_.get(), nullptr, &counters, /*keep_bytes_max=*/8000);
  uint64_t small = 0, large = 0;
  int answered = 0;
  auto count = [&](absl::StatusOr<SharedMessage> m) {
    ASSERT_TRUE(m.ok());
    EXPECT_TRUE((*m)->signature.empty());  // no signer
    ++answered;
  };
  size_t entries_kept = 0, bytes_kept = 0;
  RunAll({CommitSteps(&small, 1000),
          CommitSteps(&large, 20000),
          {[&] {
             reads.Get(small, 1, 2, count);
             reads.Get(large, 1, 2, count);
             return true;
           },
           [&] { return answered == 2; },
           [&] {
             entries_kept = reads.entries();
             bytes_kept = reads.kept_bytes();
             reads.Get(large, 1, 1, count);  // its sibling job reads again
             return true;
           },
           [&] { return answered == 3; }}});
  EXPECT_EQ(entries_kept, 1u);  // the small one; the large one is over the bound
  EXPECT_GT(bytes_kept, 1000u);
  EXPECT_LT(bytes_kept, 8000u);
  EXPECT_EQ(reads.spool_reads(), 3u);
  EXPECT_EQ(counters.message_reads.load(), 3u);
  EXPECT_EQ(counters.message_reads_shared.load(), 0u);
  reads.Forget(small);
  reads.Forget(large);
  EXPECT_EQ(reads.kept_bytes(), 0u);
  EXPECT_EQ(reads.entries(), 0u);
}

TEST_F(MessageReadsTest, AFailedReadAnswersEveryWaiterAndKeepsNothing) {
  MessageReads reads(loop_.get(), spool_.get(), nullptr);
  std::vector<absl::Status> got;
  RunAll({{[&] {
             for (int i = 0; i < 2; ++i) {
               reads.Get(0xDEAD, 1, 2,
                         [&](absl::StatusOr<SharedMessage> m) { got.push_back(m.status()); });
             }
             return true;
           },
           [&] { return got.size() == 2; }}});
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(absl::IsNotFound(got[0])) << got[0];
  EXPECT_TRUE(absl::IsNotFound(got[1])) << got[1];
  EXPECT_EQ(reads.entries(), 0u);
}

TEST_F(MessageReadsTest, ForgottenWhileReadingAnswersButKeepsNothing) {
  MessageReads reads(loop_.get(), spool_.get(), nullptr);
  uint64_t id = 0;
  SharedMessage got, next;
  RunAll({CommitSteps(&id),
          {[&] {
             reads.Get(id, 1, 2, [&](absl::StatusOr<SharedMessage> m) { got = *m; });
             reads.Forget(id);
             // A new attempt asks while the old read is in flight: it reads on its own.
             reads.Get(id, 2, 2, [&](absl::StatusOr<SharedMessage> m) { next = *m; });
             return true;
           },
           [&] { return got != nullptr && next != nullptr; }}});
  ASSERT_NE(got, nullptr);
  ASSERT_NE(next, nullptr);
  EXPECT_NE(got, next);
  EXPECT_EQ(reads.spool_reads(), 2u);
  EXPECT_EQ(reads.entries(), 0u);
  EXPECT_EQ(reads.kept_bytes(), 0u);
}

TEST_F(MessageReadsTest, AReadAheadIsTheNextJobsRead) {
  DeliveryCounters counters;
  MessageReads reads(loop_.get(), spool_.get(), nullptr, &counters, /*keep_bytes_max=*/8000);
  uint64_t id = 0, large = 0;
  bool again = true, large_ahead = false;
  SharedMessage got;
  RunAll({CommitSteps(&id),
          CommitSteps(&large, 20000),
          {[&] {
             EXPECT_TRUE(reads.ReadAhead(id, 1));
             again = reads.ReadAhead(id, 1);  // already being read
             return true;
           },
           [&] { return reads.kept_bytes() > 0; },
           [&] {
             // The job comes for it: no second read.
             reads.Get(id, 1, 1, [&](absl::StatusOr<SharedMessage> m) { got = *m; });
             return true;
           },
           [&] { return got != nullptr; },
           [&] {
             // Read ahead, but over the bound once read: not kept (its job reads again).
             large_ahead = reads.ReadAhead(large, 1);
             return true;
           },
           [&] { return reads.entries() == 1; }}});
  EXPECT_FALSE(again);
  EXPECT_TRUE(large_ahead);
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->message.queue_id(), id);
  EXPECT_EQ(reads.spool_reads(), 2u);
  EXPECT_EQ(counters.message_reads.load(), 2u);
  EXPECT_EQ(reads.shared_reads(), 1u);
  EXPECT_EQ(counters.message_reads_shared.load(), 1u);
  reads.Forget(id);
  reads.Forget(large);
  EXPECT_EQ(reads.kept_bytes(), 0u);
  // With the kept bytes at their bound, nothing is read ahead at all.
  MessageReads full(loop_.get(), spool_.get(), nullptr, nullptr, /*keep_bytes_max=*/0);
  EXPECT_FALSE(full.ReadAhead(id, 1));
  EXPECT_EQ(full.spool_reads(), 0u);
}

}  // namespace
}  // namespace tern::delivery
