// BounceSpooler on a real spool (real ring, real files): the DSN is a durable message from
// <> to the failed message's sender, in stored form, naming the failed recipient.
#include "delivery/bounce_spooler.h"

#include <memory>
#include <optional>
#include <string>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "spool/shard_spool.h"
#include "tests/engine/test_engine.h"
#include "tests/spool/spool_test_util.h"

namespace tern::delivery {
namespace {

using spool::testing::RunUntil;

TEST(BounceSpoolerTest, DsnIsADurableMessageFromNullSenderToTheSender) {
  spool::testing::TempDir dir;
  auto loop = engine::CreateLoop(tern::engine::testing::TestIoEngine());
  ASSERT_TRUE(loop.ok());
  spool::SpoolOptions options;
  options.spool_dir = dir.path();
  std::unique_ptr<spool::StorageBackend> storage = engine::CreateStorage(loop->get());
  options.storage = storage.get();
  auto spool = spool::ShardSpool::Open(loop->get(), options);
  ASSERT_TRUE(spool.ok()) << spool.status();

  const std::string original =
      "Message-ID: <m1@client.test>\r\nSubject: hello\r\n\r\n..dot line\r\nbody\r\n";
  BouncedMessage message{.queue_id = 0x0100C5E5DC5DADF6,
                         .sender = "alice@example.test",
                         .envid = "env-1",
                         .dsn_ret = 2,
                         .arrival = absl::Now() - absl::Minutes(5),
                         .stored_message = original};
  DsnRecipient failed{.final_recipient = "bob@example.net",
                      .original_recipient = "rfc822;bob@example.net",
                      .action = DsnAction::kFailed,
                      .status = "5.1.1",
                      .remote_mta = "mx.example.net[192.0.2.1:25]",
                      .diagnostic = "550 5.1.1 no such user",
                      .last_attempt = absl::Now()};

  // Spool the DSN, read it back, shut the spool down: all in one run of the loop.
  BounceSpooler bounces(spool->get(), "relay.test");
  std::optional<absl::StatusOr<uint64_t>> id;
  absl::Status read_status = absl::UnknownError("not read");
  std::string body;
  bool closed = false;
  bool inside = true;
  ASSERT_TRUE(bounces
                  .Spool(message, std::span<const DsnRecipient>(&failed, 1), absl::Now(),
                         [&](absl::StatusOr<uint64_t> dsn_id) {
                           EXPECT_FALSE(inside) << "the result must come from the loop";
                           id = dsn_id;
                           if (!dsn_id.ok()) {
                             (*spool)->Shutdown([&] { closed = true; });
                             return;
                           }
                           (*spool)->ReadMessage(*dsn_id,
                                                 [&](absl::StatusOr<spool::LoadedMessage> m) {
                                                   read_status = m.status();
                                                   if (m.ok()) body = std::string(m->body());
                                                   (*spool)->Shutdown([&] { closed = true; });
                                                 });
                         })
                  .ok());
  inside = false;
  ASSERT_TRUE(RunUntil(loop->get(), [&] { return closed; }));
  ASSERT_TRUE(id.has_value());
  ASSERT_TRUE(id->ok()) << id->status();
  ASSERT_TRUE(read_status.ok()) << read_status;

  const spool::QueueEntry* entry = (*spool)->index().Find(**id);
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->sender(), "");
  ASSERT_EQ(entry->recipient_count(), 1u);
  EXPECT_EQ(entry->recipient(0), "alice@example.test");

  EXPECT_NE(body.find("multipart/report"), std::string::npos) << body;
  EXPECT_NE(body.find("Final-Recipient: rfc822; bob@example.net"), std::string::npos);
  EXPECT_NE(body.find("Status: 5.1.1"), std::string::npos);
  EXPECT_NE(body.find("Original-Envelope-Id: env-1"), std::string::npos);
  // RET=HDRS: the original headers come back, not its body.
  EXPECT_NE(body.find("Message-ID: <m1@client.test>"), std::string::npos);
  EXPECT_EQ(body.find("..dot line"), std::string::npos);
  // Stored form: CRLF only.
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\n') {
      ASSERT_TRUE(i > 0 && body[i - 1] == '\r') << "bare LF at " << i;
    }
  }
}

}  // namespace
}  // namespace tern::delivery
