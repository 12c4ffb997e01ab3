// ResultRecorder on a real spool (real ring, real files): each outcome becomes the right
// recipient state in the queue index, a bounce's DSN is durable before the BOUNCED record,
// an old message's deferral becomes EXPIRED, and the counters (jobs in flight and recorded,
// the delivery counters, the destination stats' recent failures) follow; with a webhook, the
// events are durable in a real event journal before the records they describe.
#include "delivery/result_recorder.h"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "delivery/bounce_rules.h"
#include "events/event_journal.h"
#include "events/event_publisher.h"
#include "gtest/gtest.h"
#include "spool/shard_spool.h"
#include "tests/core/temp_files.h"
#include "tests/spool/spool_fixture.h"

namespace tern::delivery {
namespace {

using spool::RecipientState;

// Hears the recorder, and what the original message's recipients were when a DSN came.
class RecordingListener final : public ResultListener {
 public:
  void OnDsnSpooled(uint64_t dsn_queue_id) override {
    dsns.push_back(dsn_queue_id);
    if (on_dsn) on_dsn(dsn_queue_id);
  }
  void OnJobRecorded(uint64_t queue_id) override { recorded.push_back(queue_id); }

  std::vector<uint64_t> dsns;
  std::vector<uint64_t> recorded;
  std::function<void(uint64_t)> on_dsn;
};

class ResultRecorderTest : public spool::testing::SpoolFixture {
 protected:
  void SetUp() override {
    auto retry = queue::RetrySchedule::Parse("1m,5m", absl::Hours(24));
    ASSERT_TRUE(retry.ok()) << retry.status();
    config_.retry = *std::move(retry);
    config_.reporting_mta = "relay.test";
    loop_ = NewLoop();
    spool_ = Open(loop_.get(), Options());
    spool_->set_on_finished([this](uint64_t id, const spool::QueueEntry& entry) {
      std::vector<RecipientState> states;
      for (uint32_t i = 0; i < entry.recipient_count(); ++i) {
        states.push_back(entry.recipient_state(i));
      }
      finished_[id] = states;
    });
    MakeRecorder(/*events=*/nullptr);
  }

  // The recorder under test, publishing its events to `events` (null: no webhook).
  void MakeRecorder(events::EventPublisher* events) {
    recorder_ = std::make_unique<ResultRecorder>(ResultRecorderDeps{.loop = loop_.get(),
                                                                    .spool = spool_.get(),
                                                                    .log = nullptr,
                                                                    .config = &config_,
                                                                    .counters = &counters_,
                                                                    .stats = &stats_,
                                                                    .listener = &listener_,
                                                                    .events = events});
  }

  // Commits a message with the test envelope's two recipients, received at `received`.
  uint64_t CommitReceived(absl::Time received) {
    const uint64_t id = spool_->NextQueueId();
    spool::MessageEnvelope envelope = spool::testing::Envelope();
    envelope.received_unix_us = absl::ToUnixMicros(received);
    core::ByteBuffer record;
    CHECK(spool_->BeginMessage(id, envelope, &record).ok());
    record.Append(spool::testing::Body(static_cast<int>(id % 1000)));
    spool_->CommitMessage(id, std::move(record),
                          [this, id](absl::Status s) { committed_[id] = std::move(s); });
    return id;
  }
  bool Committed(uint64_t id) {
    auto it = committed_.find(id);
    if (it == committed_.end()) return false;
    EXPECT_TRUE(it->second.ok()) << it->second;
    return true;
  }
  // Runs: commit a message received at `received`, then `act` on it, until the listener
  // heard that its job was recorded.
  void CommitThenRun(absl::Time received, std::function<void(uint64_t id)> act) {
    Run(loop_.get(), spool_.get(),
        {[&] {
           id_ = CommitReceived(received);
           return true;
         },
         [&] { return Committed(id_); },
         [&] {
           act(id_);
           return true;
         },
         [&] { return !listener_.recorded.empty(); }});
  }
  static RecipientOutcome Outcome(uint32_t recipient, net::smtp::DeliveryOutcome outcome, int code,
                                  std::string enhanced, std::string reply) {
    return {.recipient = recipient,
            .outcome = outcome,
            .code = code,
            .enhanced = std::move(enhanced),
            .reply = std::move(reply)};
  }
  const spool::QueueEntry* Entry(uint64_t id) const { return spool_->index().Find(id); }

  DeliveryConfig config_;
  DeliveryCounters counters_;
  DestinationStatsBook stats_;
  RecordingListener listener_;
  std::unique_ptr<core::Loop> loop_;
  std::unique_ptr<spool::ShardSpool> spool_;
  std::unique_ptr<ResultRecorder> recorder_;
  std::map<uint64_t, std::vector<RecipientState>> finished_;
  uint64_t id_ = 0;
};

TEST_F(ResultRecorderTest, DeliveredAndDeferredRecipients) {
  const absl::Time received = absl::Now() - absl::Minutes(2);
  absl::Time completed;
  CommitThenRun(received, [&](uint64_t id) {
    completed = absl::Now();
    recorder_->Complete(
        DeliveryJob{.queue_id = id, .recipients = {0, 1}, .attempt = 1},
        {Outcome(0, net::smtp::DeliveryOutcome::kDelivered, 250, "2.0.0", "250 2.0.0 queued"),
         Outcome(1, net::smtp::DeliveryOutcome::kTempFailed, 451, "4.3.0", "451 4.3.0 later")},
        "mx.example.net[192.0.2.1:25]", std::nullopt);
    EXPECT_EQ(recorder_->in_flight(), 1u);
    EXPECT_EQ(recorder_->jobs_recorded(), 0u);
  });
  EXPECT_EQ(recorder_->in_flight(), 0u);
  EXPECT_EQ(recorder_->jobs_recorded(), 1u);
  EXPECT_EQ(listener_.recorded, (std::vector<uint64_t>{id_}));
  EXPECT_TRUE(listener_.dsns.empty());

  const spool::QueueEntry* entry = Entry(id_);
  ASSERT_NE(entry, nullptr) << "bob is still deferred: the message stays";
  EXPECT_EQ(entry->recipient_state(0), RecipientState::kDelivered);
  EXPECT_EQ(entry->recipient_state(1), RecipientState::kDeferred);
  EXPECT_EQ(entry->attempts(), 1u);
  // The first retry step (1m) after this attempt.
  const absl::Time next = absl::FromUnixMicros(entry->next_attempt_unix_us());
  EXPECT_GE(next, completed + absl::Minutes(1) - absl::Seconds(5));
  EXPECT_LE(next, absl::Now() + absl::Minutes(1) + absl::Seconds(5));

  EXPECT_EQ(counters_.recipients_delivered.load(), 1u);
  EXPECT_EQ(counters_.Failures(FailedResult::kDeferred), 1u);
  EXPECT_EQ(counters_.Failures(FailedResult::kBounced), 0u);
  EXPECT_EQ(counters_.dsns_queued.load(), 0u);
  ASSERT_EQ(stats_.recent_failures().size(), 1u) << "the deferral, not the delivery";
  EXPECT_EQ(stats_.recent_failures()[0].recipient, "bob@example.net");
  EXPECT_EQ(stats_.recent_failures()[0].result, "deferred");
  EXPECT_EQ(stats_.recent_failures()[0].reply, "451 4.3.0 later");
  EXPECT_EQ(stats_.recent_failures()[0].destination, "mx.example.net[192.0.2.1:25]");
}

TEST_F(ResultRecorderTest, AllDeliveredFinishesTheMessage) {
  CommitThenRun(absl::Now(), [&](uint64_t id) {
    recorder_->Complete(
        DeliveryJob{.queue_id = id, .recipients = {0, 1}},
        {Outcome(0, net::smtp::DeliveryOutcome::kDelivered, 250, "2.0.0", "250 ok"),
         Outcome(1, net::smtp::DeliveryOutcome::kDelivered, 250, "2.0.0", "250 ok")},
        "mx.example.net", std::nullopt);
  });
  EXPECT_EQ(Entry(id_), nullptr);
  ASSERT_EQ(finished_.count(id_), 1u);
  EXPECT_EQ(finished_[id_],
            (std::vector<RecipientState>{RecipientState::kDelivered, RecipientState::kDelivered}));
  EXPECT_EQ(counters_.recipients_delivered.load(), 2u);
  EXPECT_TRUE(stats_.recent_failures().empty());
  EXPECT_EQ(recorder_->jobs_recorded(), 1u);
}

TEST_F(ResultRecorderTest, BounceSpoolsItsDsnBeforeTheBouncedRecord) {
  std::optional<RecipientState> bob_when_dsn_spooled;
  bool dsn_in_index = false;
  listener_.on_dsn = [&](uint64_t dsn_id) {
    const spool::QueueEntry* original = Entry(id_);
    if (original != nullptr) bob_when_dsn_spooled = original->recipient_state(1);
    const spool::QueueEntry* dsn = Entry(dsn_id);
    dsn_in_index = dsn != nullptr && dsn->sender().empty() && dsn->recipient_count() == 1 &&
                   dsn->recipient(0) == "sender@example.com";
    EXPECT_EQ(recorder_->in_flight(), 1u);
  };
  CommitThenRun(absl::Now() - absl::Minutes(1), [&](uint64_t id) {
    recorder_->Complete(DeliveryJob{.queue_id = id, .recipients = {0, 1}, .attempt = 2},
                        {Outcome(0, net::smtp::DeliveryOutcome::kTempFailed, 452, "4.2.2",
                                 "452 4.2.2 mailbox full"),
                         Outcome(1, net::smtp::DeliveryOutcome::kPermFailed, 550, "5.1.1",
                                 "550 5.1.1 no such user")},
                        "mx.example.net[192.0.2.1:25]", std::nullopt);
  });
  ASSERT_EQ(listener_.dsns.size(), 1u);
  EXPECT_TRUE(dsn_in_index) << "the DSN is durable, from <> to the sender";
  ASSERT_TRUE(bob_when_dsn_spooled.has_value());
  EXPECT_EQ(*bob_when_dsn_spooled, RecipientState::kPending)
      << "the BOUNCED record was written before its DSN";

  const spool::QueueEntry* entry = Entry(id_);
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->recipient_state(0), RecipientState::kDeferred);
  EXPECT_EQ(entry->recipient_state(1), RecipientState::kBounced);
  EXPECT_EQ(entry->attempts(), 2u) << "the job's attempt number is recorded";
  EXPECT_EQ(counters_.dsns_queued.load(), 1u);
  EXPECT_EQ(counters_.Failures(FailedResult::kBounced), 1u);
  EXPECT_EQ(counters_.Failures(FailedResult::kDeferred), 1u);
  EXPECT_EQ(recorder_->in_flight(), 0u);
  EXPECT_EQ(recorder_->jobs_recorded(), 1u);
  ASSERT_EQ(stats_.recent_failures().size(), 2u);
  EXPECT_EQ(stats_.recent_failures()[1].result, "bounced");
  EXPECT_EQ(stats_.recent_failures()[1].recipient, "bob@example.net");
}

TEST_F(ResultRecorderTest, FailuresAreCountedByResultAndBounceClass) {
  CommitThenRun(absl::Now() - absl::Minutes(1), [&](uint64_t id) {
    recorder_->Complete(DeliveryJob{.queue_id = id, .recipients = {0, 1}, .attempt = 1},
                        {Outcome(0, net::smtp::DeliveryOutcome::kTempFailed, 452, "4.2.2",
                                 "452 4.2.2 mailbox full"),
                         Outcome(1, net::smtp::DeliveryOutcome::kPermFailed, 550, "5.1.1",
                                 "550 5.1.1 no such user")},
                        "mx.example.net[192.0.2.1:25]", std::nullopt);
  });
  EXPECT_EQ(counters_.FailuresOf(FailedResult::kDeferred, BounceClass::kQuotaIssues).load(), 1u);
  EXPECT_EQ(counters_.FailuresOf(FailedResult::kBounced, BounceClass::kBadMailbox).load(), 1u);
  uint64_t all = 0;
  for (const auto& result : counters_.failures_by_class) {
    for (const auto& count : result) all += count.load();
  }
  EXPECT_EQ(all, 2u) << "each failure counted once";
}

TEST_F(ResultRecorderTest, EventsAreDurableBeforeTheRecordsTheyDescribe) {
  core::testing::TempDir events_dir("recorder-events");
  auto journal = events::EventJournal::Open({.directory = events_dir.path()});
  ASSERT_TRUE(journal.ok()) << journal.status();
  events::EventPublisher publisher(loop_.get(), journal->get());
  MakeRecorder(&publisher);
  bool recorded_before_its_events = false;
  Run(loop_.get(), spool_.get(),
      {[&] {
         id_ = CommitReceived(absl::Now() - absl::Minutes(1));
         return true;
       },
       [&] { return Committed(id_); },
       [&] {
         recorder_->Complete(
             DeliveryJob{.queue_id = id_, .recipients = {0, 1}, .attempt = 2, .pool = "bulk"},
             {Outcome(0, net::smtp::DeliveryOutcome::kDelivered, 250, "2.0.0", "250 2.0.0 ok"),
              Outcome(1, net::smtp::DeliveryOutcome::kPermFailed, 550, "5.1.1",
                      "550 5.1.1 no such user")},
             "mx.example.net[192.0.2.1:25]", std::nullopt);
         return true;
       },
       [&] {
         // Checked after every iteration: once the records are written (the message is
         // finished), its three events must already be durable.
         if (Entry(id_) == nullptr && (*journal)->last_durable_sequence() < 3) {
           recorded_before_its_events = true;
         }
         return !listener_.recorded.empty();
       }});
  EXPECT_FALSE(recorded_before_its_events);
  EXPECT_EQ(Entry(id_), nullptr) << "delivered and bounced: finished";
  EXPECT_EQ(publisher.published(), 3u);
  absl::StatusOr<std::vector<events::JournalEvent>> read = (*journal)->Read(0, 10);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 3u);
  const events::Event& delivered = (*read)[0].event;
  const events::Event& bounced = (*read)[1].event;
  const events::Event& dsn = (*read)[2].event;
  EXPECT_EQ(delivered.type, events::EventType::kDelivered);
  EXPECT_EQ(delivered.recipient, "alice@example.org");
  EXPECT_EQ(delivered.reply, "250 2.0.0 ok");
  EXPECT_EQ(delivered.bounce_class, "");
  EXPECT_EQ(delivered.egress_pool, "bulk");
  EXPECT_EQ(bounced.type, events::EventType::kBounced);
  EXPECT_EQ(bounced.recipient, "bob@example.net");
  EXPECT_EQ(bounced.bounce_class, "bad-mailbox");
  EXPECT_EQ(bounced.destination, "mx.example.net[192.0.2.1:25]");
  for (const events::Event* e : {&delivered, &bounced}) {
    EXPECT_EQ(e->queue_id, id_);
    EXPECT_EQ(e->sender, "sender@example.com");
    EXPECT_EQ(e->attempts, 2u);
    EXPECT_LT(e->received_time, e->event_time);
  }
  ASSERT_EQ(listener_.dsns.size(), 1u);
  EXPECT_EQ(dsn.type, events::EventType::kReceived) << "the bounce's DSN, a message of its own";
  EXPECT_EQ(dsn.queue_id, listener_.dsns[0]);
  EXPECT_EQ(dsn.recipient, "sender@example.com");
  EXPECT_EQ(dsn.sender, "");
}

TEST_F(ResultRecorderTest, AnExpiryIsClassedMessageExpiredWhateverItsLastReply) {
  CommitThenRun(absl::Now() - absl::Hours(240), [&](uint64_t id) {
    recorder_->Complete(DeliveryJob{.queue_id = id, .recipients = {0, 1}, .attempt = 9},
                        {Outcome(0, net::smtp::DeliveryOutcome::kTempFailed, 452, "4.2.2",
                                 "452 4.2.2 mailbox full"),
                         Outcome(1, net::smtp::DeliveryOutcome::kTempFailed, 451, "4.4.1",
                                 "451 4.4.1 connection refused")},
                        "mx.example.net", std::nullopt);
  });
  EXPECT_EQ(counters_.FailuresOf(FailedResult::kExpired, BounceClass::kMessageExpired).load(), 2u);
}

TEST_F(ResultRecorderTest, OperatorRulesSetLaterClassTheNextResults) {
  auto rules =
      ParseBounceRules("[[rule]]\nclass = \"spam-related\"\nmatch = 'no such user'\n", "test.toml");
  ASSERT_TRUE(rules.ok()) << rules.status();
  auto classifier = BounceClassifier::Create(&*rules);
  ASSERT_TRUE(classifier.ok()) << classifier.status();
  recorder_->set_classifier(*classifier);
  CommitThenRun(absl::Now() - absl::Minutes(1), [&](uint64_t id) {
    recorder_->Fail(DeliveryJob{.queue_id = id, .recipients = {0, 1}},
                    net::smtp::DeliveryOutcome::kPermFailed, 550, "5.1.1", "no such user",
                    "mx.example.net");
  });
  EXPECT_EQ(counters_.FailuresOf(FailedResult::kBounced, BounceClass::kSpamRelated).load(), 2u);
  EXPECT_EQ(counters_.FailuresOf(FailedResult::kBounced, BounceClass::kBadMailbox).load(), 0u);
}

TEST_F(ResultRecorderTest, DeferralOfAnOldMessageExpires) {
  // Received ten days ago with a one-day lifetime.
  CommitThenRun(absl::Now() - absl::Hours(240), [&](uint64_t id) {
    recorder_->Complete(
        DeliveryJob{.queue_id = id, .recipients = {0, 1}, .attempt = 9},
        {Outcome(0, net::smtp::DeliveryOutcome::kTempFailed, 451, "4.4.1", "451 4.4.1 refused"),
         Outcome(1, net::smtp::DeliveryOutcome::kTempFailed, 451, "4.4.1", "451 4.4.1 refused")},
        "mx.example.net", std::nullopt);
  });
  EXPECT_EQ(Entry(id_), nullptr) << "expired recipients are final";
  ASSERT_EQ(finished_.count(id_), 1u);
  EXPECT_EQ(finished_[id_],
            (std::vector<RecipientState>{RecipientState::kExpired, RecipientState::kExpired}));
  EXPECT_EQ(counters_.Failures(FailedResult::kExpired), 2u);
  EXPECT_EQ(counters_.Failures(FailedResult::kDeferred), 0u);
  // Both asked for failure notices (NOTIFY=FAILURE,DELAY and no NOTIFY): one DSN for both.
  EXPECT_EQ(listener_.dsns.size(), 1u);
  EXPECT_EQ(counters_.dsns_queued.load(), 1u);
  ASSERT_EQ(stats_.recent_failures().size(), 2u);
  EXPECT_EQ(stats_.recent_failures()[0].result, "expired");
}

TEST_F(ResultRecorderTest, FailGivesEveryRecipientTheSameOutcome) {
  CommitThenRun(absl::Now(), [&](uint64_t id) {
    recorder_->Fail(DeliveryJob{.queue_id = id, .recipients = {0, 1}},
                    net::smtp::DeliveryOutcome::kTempFailed, 451, "4.4.1", "connection refused",
                    "mx.example.net");
    EXPECT_EQ(recorder_->in_flight(), 1u);
  });
  const spool::QueueEntry* entry = Entry(id_);
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->recipient_state(0), RecipientState::kDeferred);
  EXPECT_EQ(entry->recipient_state(1), RecipientState::kDeferred);
  EXPECT_EQ(counters_.Failures(FailedResult::kDeferred), 2u);
  EXPECT_TRUE(listener_.dsns.empty());
  ASSERT_EQ(stats_.recent_failures().size(), 2u);
  for (const RecentFailure& f : stats_.recent_failures()) {
    EXPECT_EQ(f.reply, "451 4.4.1 connection refused");
    EXPECT_EQ(f.destination, "mx.example.net");
    EXPECT_EQ(f.queue_id, id_);
  }
  EXPECT_EQ(stats_.recent_failures()[0].recipient, "alice@example.org");
  EXPECT_EQ(stats_.recent_failures()[1].recipient, "bob@example.net");
  EXPECT_EQ(recorder_->jobs_recorded(), 1u);
  EXPECT_EQ(recorder_->in_flight(), 0u);
}

TEST_F(ResultRecorderTest, PermanentFailBouncesEveryRecipient) {
  CommitThenRun(absl::Now(), [&](uint64_t id) {
    recorder_->Fail(DeliveryJob{.queue_id = id, .recipients = {0, 1}},
                    net::smtp::DeliveryOutcome::kPermFailed, 550, "5.1.2", "no such domain",
                    "example.net (MX)");
  });
  EXPECT_EQ(Entry(id_), nullptr);
  ASSERT_EQ(finished_.count(id_), 1u);
  EXPECT_EQ(finished_[id_],
            (std::vector<RecipientState>{RecipientState::kBounced, RecipientState::kBounced}));
  EXPECT_EQ(listener_.dsns.size(), 1u);
  EXPECT_EQ(counters_.Failures(FailedResult::kBounced), 2u);
}

TEST_F(ResultRecorderTest, JobOfADeletedMessageOnlySaysRecorded) {
  bool called_inside = false;
  Run(loop_.get(), spool_.get(), {[&] {
        recorder_->Complete(DeliveryJob{.queue_id = 0x4242, .recipients = {0}},
                            {Outcome(0, net::smtp::DeliveryOutcome::kPermFailed, 550, "5.1.1",
                                     "550 5.1.1 unknown")},
                            "mx.example.net", std::nullopt);
        called_inside = listener_.recorded.size() == 1;
        return true;
      }});
  EXPECT_TRUE(called_inside);
  EXPECT_EQ(listener_.recorded, (std::vector<uint64_t>{0x4242}));
  EXPECT_TRUE(listener_.dsns.empty());
  EXPECT_EQ(recorder_->in_flight(), 0u);
  EXPECT_EQ(recorder_->jobs_recorded(), 0u) << "nothing was recorded";
  EXPECT_EQ(counters_.Failures(FailedResult::kBounced), 0u);
  EXPECT_TRUE(stats_.recent_failures().empty());
}

}  // namespace
}  // namespace tern::delivery
