// Tests of queue/spool_sink.h on a real ShardSpool: the envelope the SMTP session hands
// over is the one stored, RFC 3461 parameters included, and the one read back for delivery;
// with a webhook, each recipient's "received" event is durable in a real event journal before
// the reply, and a journal that refuses them does not hold the reply up.
#include "queue/spool_sink.h"

#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "core/check.h"
#include "events/event_journal.h"
#include "events/event_publisher.h"
#include "gtest/gtest.h"
#include "net/smtp/client_commands.h"
#include "tests/core/temp_files.h"
#include "tests/spool/spool_fixture.h"

namespace tern::queue {
namespace {

class CountingListener : public net::CommitListener {
 public:
  void OnMessageCommitted() override { ++committed; }
  int committed = 0;
};

class RecordingWaiter : public net::smtp::CommitWaiter {
 public:
  void OnCommitted(absl::Status s) override { status = std::move(s); }
  std::optional<absl::Status> status;
};

class SpoolSinkTest : public spool::testing::SpoolFixture {};

// The resolver of one source ip2 in one pool "bulk".
std::shared_ptr<const delivery::MessagePoolResolver> BulkPoolResolver() {
  delivery::EgressFlags flags;
  flags.sources = {"ip2=127.0.0.2"};
  flags.pools = {"bulk=ip2"};
  auto egress = delivery::EgressConfig::Parse(flags);
  CHECK(egress.ok());
  return std::make_shared<const delivery::MessagePoolResolver>(*egress);
}

// An envelope from a@b.test to x@example.com (`recipients` holds its recipient).
net::smtp::EnvelopeView OneRecipientEnvelope(const net::smtp::EnvelopeRecipient (&recipients)[1]) {
  net::smtp::EnvelopeView envelope;
  envelope.sender = "a@b.test";
  envelope.recipients = recipients;
  return envelope;
}

TEST_F(SpoolSinkTest, StoresTheEnvelopeWithItsDsnParametersAsReceived) {
  auto loop = NewLoop();
  auto spool = Open(loop.get(), Options());
  CountingListener listener;
  SpoolSink sink(spool.get(), /*log=*/nullptr, &listener);

  const net::smtp::EnvelopeRecipient recipients[] = {
      {.address = "x@example.com",
       .notify = net::smtp::kDsnNotifySuccess | net::smtp::kDsnNotifyFailure,
       .orcpt = "rfc822;x+2Bt@example.com"},
      {.address = "y@example.com", .notify = net::smtp::kDsnNotifyNever},
      {.address = "z@example.com"},
  };
  net::smtp::EnvelopeView envelope;
  envelope.helo = "client.example";
  envelope.client_address = "192.0.2.9";
  envelope.sender = "a@b.test";
  envelope.recipients = recipients;
  envelope.dsn_ret = net::smtp::kDsnRetHeaders;
  envelope.envid = "id+2B1";
  core::ByteBuffer record;
  absl::StatusOr<uint64_t> id = sink.BeginMessage(envelope, &record);
  ASSERT_TRUE(id.ok()) << id.status();
  record.Append("Subject: dsn\r\n\r\nbody\r\n");
  RecordingWaiter waiter;
  sink.CommitMessage(*id, std::move(record), &waiter);

  bool read_requested = false;
  std::optional<absl::StatusOr<spool::LoadedMessage>> loaded;
  Run(loop.get(), spool.get(),
      {[&] { return waiter.status.has_value(); },
       [&] {
         if (!read_requested) {
           read_requested = true;
           spool->ReadMessage(
               *id, [&](absl::StatusOr<spool::LoadedMessage> m) { loaded = std::move(m); });
         }
         return loaded.has_value();
       }});
  ASSERT_TRUE(waiter.status.has_value());
  ASSERT_TRUE(waiter.status->ok()) << *waiter.status;
  EXPECT_EQ(listener.committed, 1);
  ASSERT_TRUE(loaded.has_value());
  ASSERT_TRUE(loaded->ok()) << loaded->status();

  const spool::MessageRecordView& view = (*loaded)->view();
  EXPECT_EQ(view.sender(), "a@b.test");
  EXPECT_EQ(view.dsn_ret(), 2);  // HDRS
  EXPECT_EQ(view.envid(), "id+2B1");
  spool::RecipientView r;
  auto it = view.recipients();
  ASSERT_TRUE(it.Next(&r));
  EXPECT_EQ(r.address, "x@example.com");
  EXPECT_EQ(r.notify, spool::kNotifySuccess | spool::kNotifyFailure);
  EXPECT_EQ(r.orcpt, "rfc822;x+2Bt@example.com");
  ASSERT_TRUE(it.Next(&r));
  EXPECT_EQ(r.address, "y@example.com");
  EXPECT_EQ(r.notify, spool::kNotifyNever);
  EXPECT_EQ(r.orcpt, "");
  ASSERT_TRUE(it.Next(&r));
  EXPECT_EQ(r.address, "z@example.com");
  EXPECT_EQ(r.notify, 0);
  EXPECT_EQ(r.orcpt, "");
  EXPECT_FALSE(it.Next(&r));
  EXPECT_EQ(view.body(), "Subject: dsn\r\n\r\nbody\r\n");
}

TEST_F(SpoolSinkTest, StoresTheEgressPoolDecidedAtReceptionWithoutItsHeader) {
  delivery::EgressFlags flags;
  flags.sources = {"ip2=127.0.0.2"};
  flags.pools = {"bulk=ip2", "trans=ip2"};
  flags.sender_pools = {"news.example=trans"};
  auto egress = delivery::EgressConfig::Parse(flags);
  ASSERT_TRUE(egress.ok()) << egress.status();
  const auto pools = std::make_shared<const delivery::MessagePoolResolver>(*egress);

  // One message naming its pool in the header, one getting it from its sender's domain.
  struct Case {
    const char* sender;
    const char* data;
    const char* pool;
    const char* body;
  };
  const Case cases[] = {
      {"a@b.test", "X-Tern-Pool: bulk\r\nSubject: p\r\n\r\nbody\r\n", "bulk",
       "Subject: p\r\n\r\nbody\r\n"},
      {"a@news.example", "Subject: q\r\n\r\nbody\r\n", "trans", "Subject: q\r\n\r\nbody\r\n"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.pool);
    auto loop = NewLoop();  // a spool per message: Run() shuts it down
    auto spool = Open(loop.get(), Options());
    CountingListener listener;
    SpoolSink sink(spool.get(), /*log=*/nullptr, &listener, &pools);
    const net::smtp::EnvelopeRecipient recipients[] = {{.address = "x@example.com"}};
    net::smtp::EnvelopeView envelope;
    envelope.helo = "client.example";
    envelope.client_address = "192.0.2.9";
    envelope.sender = c.sender;
    envelope.recipients = recipients;
    core::ByteBuffer record;
    absl::StatusOr<uint64_t> id = sink.BeginMessage(envelope, &record);
    ASSERT_TRUE(id.ok()) << id.status();
    ASSERT_TRUE(sink.WantsHeaderSection());
    const size_t body_begin = record.size();
    record.Append(c.data);
    const size_t header_end = body_begin + absl::string_view(c.data).find("\r\n\r\n") + 4;
    ASSERT_TRUE(sink.OnHeaderSection(&record, body_begin, header_end).ok());
    RecordingWaiter waiter;
    sink.CommitMessage(*id, std::move(record), &waiter);
    bool read_requested = false;
    std::optional<absl::StatusOr<spool::LoadedMessage>> loaded;
    Run(loop.get(), spool.get(),
        {[&] { return waiter.status.has_value(); },
         [&] {
           if (!read_requested) {
             read_requested = true;
             spool->ReadMessage(
                 *id, [&](absl::StatusOr<spool::LoadedMessage> m) { loaded = std::move(m); });
           }
           return loaded.has_value();
         }});
    ASSERT_TRUE(waiter.status.has_value() && waiter.status->ok());
    ASSERT_TRUE(loaded.has_value() && loaded->ok());
    EXPECT_EQ((*loaded)->view().pool(), c.pool);
    EXPECT_EQ((*loaded)->view().sender(), c.sender);
    EXPECT_EQ((*loaded)->body(), c.body);
    const spool::QueueEntry* entry = spool->index().Find(*id);
    ASSERT_NE(entry, nullptr);
    EXPECT_EQ(entry->pool(), c.pool);
  }
}

TEST_F(SpoolSinkTest, UnknownPoolInTheHeaderIsRefused) {
  const auto pools = BulkPoolResolver();
  auto loop = NewLoop();
  auto spool = Open(loop.get(), Options());
  CountingListener listener;
  SpoolSink sink(spool.get(), /*log=*/nullptr, &listener, &pools);
  const net::smtp::EnvelopeRecipient recipients[] = {{.address = "x@example.com"}};
  const net::smtp::EnvelopeView envelope = OneRecipientEnvelope(recipients);
  core::ByteBuffer record;
  ASSERT_TRUE(sink.BeginMessage(envelope, &record).ok());
  const size_t body_begin = record.size();
  record.Append("X-Tern-Pool: nope\r\n\r\n");
  const absl::Status refused = sink.OnHeaderSection(&record, body_begin, record.size());
  EXPECT_TRUE(absl::IsInvalidArgument(refused));
  EXPECT_EQ(refused.message(), "unknown egress pool \"nope\" (X-Tern-Pool)");
  Run(loop.get(), spool.get(), {});  // the message is dropped with its buffer
}

TEST_F(SpoolSinkTest, WithoutPoolsTheHeaderIsNotLookedAt) {
  auto loop = NewLoop();
  auto spool = Open(loop.get(), Options());
  CountingListener listener;
  const auto none = std::make_shared<const delivery::MessagePoolResolver>(nullptr);
  const std::shared_ptr<const delivery::MessagePoolResolver> null_slot;
  const net::smtp::EnvelopeRecipient recipients[] = {{.address = "x@example.com"}};
  const net::smtp::EnvelopeView envelope = OneRecipientEnvelope(recipients);
  for (const auto* pools :
       {&none, &null_slot,
        static_cast<const std::shared_ptr<const delivery::MessagePoolResolver>*>(nullptr)}) {
    SpoolSink sink(spool.get(), nullptr, &listener, pools);
    core::ByteBuffer record;
    ASSERT_TRUE(sink.BeginMessage(envelope, &record).ok());
    EXPECT_FALSE(sink.WantsHeaderSection());
  }
  Run(loop.get(), spool.get(), {});  // the messages are dropped with their buffers
}

// SIGHUP replaces the shard's resolver: a message keeps the one in force at its start, the
// next message of the same session takes the new one.
TEST_F(SpoolSinkTest, EachMessageTakesTheResolverInForceAtItsStart) {
  std::shared_ptr<const delivery::MessagePoolResolver> in_force = BulkPoolResolver();
  auto loop = NewLoop();
  auto spool = Open(loop.get(), Options());
  CountingListener listener;
  SpoolSink sink(spool.get(), /*log=*/nullptr, &listener, &in_force);
  const net::smtp::EnvelopeRecipient recipients[] = {{.address = "x@example.com"}};
  const net::smtp::EnvelopeView envelope = OneRecipientEnvelope(recipients);
  core::ByteBuffer record;
  ASSERT_TRUE(sink.BeginMessage(envelope, &record).ok());
  ASSERT_TRUE(sink.WantsHeaderSection());
  in_force = std::make_shared<const delivery::MessagePoolResolver>(nullptr);  // reloaded
  const size_t body_begin = record.size();
  record.Append("X-Tern-Pool: bulk\r\n\r\n");
  EXPECT_TRUE(sink.OnHeaderSection(&record, body_begin, record.size()).ok())
      << "the message keeps the resolver it started with";
  core::ByteBuffer next;
  ASSERT_TRUE(sink.BeginMessage(envelope, &next).ok());
  EXPECT_FALSE(sink.WantsHeaderSection()) << "the next message has the new one (no pools)";
  Run(loop.get(), spool.get(), {});  // the messages are dropped with their buffers
}

class SpoolSinkEventsTest : public SpoolSinkTest {
 protected:
  // Commits a two-recipient message through a sink publishing to `journal`; returns the
  // reply's status and its queue id.
  std::pair<absl::Status, uint64_t> CommitWithEvents(core::Loop* loop, spool::ShardSpool* spool,
                                                     events::EventPublisher* publisher,
                                                     const std::function<void()>& on_reply) {
    CountingListener listener;
    SpoolSink sink(spool, /*log=*/nullptr, &listener, /*pools=*/nullptr, publisher);
    const net::smtp::EnvelopeRecipient recipients[] = {{.address = "x@example.com"},
                                                       {.address = "y@example.com"}};
    net::smtp::EnvelopeView envelope;
    envelope.sender = "a@b.test";
    envelope.recipients = recipients;
    core::ByteBuffer record;
    absl::StatusOr<uint64_t> id = sink.BeginMessage(envelope, &record);
    CHECK(id.ok());
    record.Append("Message-ID: <m1@b.test>\r\nSubject: events\r\n\r\nbody\r\n");
    class Waiter : public net::smtp::CommitWaiter {
     public:
      explicit Waiter(const std::function<void()>& on_reply) : on_reply_(on_reply) {}
      void OnCommitted(absl::Status s) override {
        status = std::move(s);
        on_reply_();
      }
      std::optional<absl::Status> status;

     private:
      const std::function<void()>& on_reply_;
    } waiter(on_reply);
    sink.CommitMessage(*id, std::move(record), &waiter);
    Run(loop, spool, {[&] { return waiter.status.has_value(); }});
    CHECK(waiter.status.has_value());
    EXPECT_EQ(listener.committed, 1);
    return {*waiter.status, *id};
  }
};

TEST_F(SpoolSinkEventsTest, WithAWebhookEachRecipientsReceivedEventIsDurableBeforeTheReply) {
  core::testing::TempDir events_dir("sink-events");
  auto journal = events::EventJournal::Open({.directory = events_dir.path()});
  ASSERT_TRUE(journal.ok()) << journal.status();
  auto loop = NewLoop();
  auto spool = Open(loop.get(), Options());
  events::EventPublisher publisher(loop.get(), journal->get());
  uint64_t durable_at_reply = 0;
  auto [status, id] = CommitWithEvents(loop.get(), spool.get(), &publisher, [&] {
    durable_at_reply = (*journal)->last_durable_sequence();
  });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(durable_at_reply, 2u) << "both events were durable when the reply went out";
  EXPECT_EQ(publisher.published(), 2u);
  EXPECT_EQ(publisher.lost(), 0u);
  EXPECT_EQ(publisher.pending(), 0u);
  absl::StatusOr<std::vector<events::JournalEvent>> read = (*journal)->Read(0, 10);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 2u);
  const char* expected[] = {"x@example.com", "y@example.com"};
  for (size_t i = 0; i < 2; ++i) {
    const events::Event& e = (*read)[i].event;
    EXPECT_EQ(e.type, events::EventType::kReceived);
    EXPECT_EQ(e.queue_id, id);
    EXPECT_EQ(e.recipient, expected[i]);
    EXPECT_EQ(e.sender, "a@b.test");
    EXPECT_EQ(e.message_id, "<m1@b.test>");
    EXPECT_EQ(e.event_id.size(), 32u);
    EXPECT_GE(e.event_time, e.received_time);
  }
  EXPECT_NE((*read)[0].event.event_id, (*read)[1].event.event_id);
}

TEST_F(SpoolSinkEventsTest, AJournalThatRefusesTheEventsDoesNotHoldTheReplyUp) {
  core::testing::TempDir events_dir("sink-events-full");
  // One event at most in the writer's queue: the message's two are refused at once.
  auto journal =
      events::EventJournal::Open({.directory = events_dir.path(), .queue_events_max = 1});
  ASSERT_TRUE(journal.ok()) << journal.status();
  auto loop = NewLoop();
  auto spool = Open(loop.get(), Options());
  events::EventPublisher publisher(loop.get(), journal->get());
  auto [status, id] = CommitWithEvents(loop.get(), spool.get(), &publisher, [] {});
  EXPECT_TRUE(status.ok()) << "the message is stored and acknowledged: " << status;
  EXPECT_EQ(publisher.lost(), 2u);
  EXPECT_EQ(publisher.published(), 0u);
  EXPECT_EQ((*journal)->last_durable_sequence(), 0u);
}

TEST_F(SpoolSinkEventsTest, WithoutAWebhookNoEventIsMade) {
  auto loop = NewLoop();
  auto spool = Open(loop.get(), Options());
  events::EventPublisher disabled(loop.get(), /*journal=*/nullptr);
  auto [status, id] = CommitWithEvents(loop.get(), spool.get(), &disabled, [] {});
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(disabled.published() + disabled.lost(), 0u);
}

}  // namespace
}  // namespace tern::queue
