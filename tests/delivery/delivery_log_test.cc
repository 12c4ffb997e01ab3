// Tests of delivery/delivery_log.h: JSON lines appended through the ring, one per event.
#include "delivery/delivery_log.h"

#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/core/hostile_text.h"
#include "tests/engine/test_engine.h"

namespace tern::delivery {
namespace {

class StopWhenIdle : public core::Timer {
 public:
  StopWhenIdle(core::Loop* loop, DeliveryLog* log) : loop_(loop), log_(log) {}
  void OnTimer() override {
    if (log_->idle() || ++ticks_ > 500) {
      loop_->Stop();
    } else {
      loop_->timers().Arm(this, absl::Now() + absl::Milliseconds(10));
    }
  }

 private:
  core::Loop* loop_;
  DeliveryLog* log_;
  int ticks_ = 0;
};

TEST(FormatDeliveryEvent, OneJsonObjectPerLineWithEscapes) {
  DeliveryEvent e;
  e.event = "bounced";
  e.queue_id = 0x0100C5E5DC5DADF6;
  e.sender = "a@example.com";
  e.recipient = "b@example.net";
  e.reply = "550 5.1.1 \"no\"\r\nsuch user";
  e.bounce_class = "bad-mailbox";
  e.time = absl::FromUnixSeconds(1'700'000'000);
  e.attempts = 2;
  e.delay = absl::Seconds(3);
  EXPECT_EQ(FormatDeliveryEvent(e),
            "{\"time\":\"2023-11-14T22:13:20.000Z\",\"event\":\"bounced\",\"queue_id\":"
            "\"0100C5E5DC5DADF6\",\"sender\":\"a@example.com\",\"recipient\":\"b@example.net\","
            "\"reply\":\"550 5.1.1 \\\"no\\\"\\r\\nsuch user\",\"class\":\"bad-mailbox\","
            "\"attempts\":2,\"delay_ms\":3000}\n");
}

// Property: whatever bytes a remote server, a client or a message put into an event (reply,
// Message-ID, addresses, host names, client address), its line is strict JSON (nlohmann
// rejects invalid UTF-8 and raw control characters), one line, and each field decodes to its
// bytes (valid UTF-8 unchanged, other bytes as their Latin-1 reading).
TEST(FormatDeliveryEvent, HostileBytesInEveryFieldGiveOneStrictJsonLine) {
  std::mt19937_64 rng(15);
  const std::string all_bytes = core::testing::AllByteValues();
  for (int iteration = 0; iteration < 5000; ++iteration) {
    const bool every_byte = iteration < 6;  // first: all 256 byte values in each field in turn
    std::string fields[6];
    // Non-empty: empty fields are left out of the line.
    for (std::string& f : fields) f = "x" + core::testing::HostileText(rng, 300);
    if (every_byte) fields[iteration % 6] = all_bytes;
    DeliveryEvent e;
    e.event = iteration % 2 ? "deferred" : "bounced";
    e.queue_id = rng();
    e.message_id = fields[0];
    e.sender = fields[1];
    e.recipient = fields[2];
    e.client = fields[3];
    e.destination = fields[4];
    e.reply = fields[5];
    e.attempts = 1;
    const std::string line = FormatDeliveryEvent(e);
    ASSERT_EQ(line.back(), '\n');
    ASSERT_EQ(line.find('\n'), line.size() - 1) << "one event, one line";
    const std::optional<nlohmann::json> parsed = core::testing::ParseStrictJson(line);
    ASSERT_TRUE(parsed.has_value()) << absl::CHexEscape(line);
    const char* kKeys[] = {"message_id", "sender", "recipient", "client", "destination", "reply"};
    for (int k = 0; k < 6; ++k) {
      ASSERT_EQ((*parsed)[kKeys[k]].get<std::string>(), core::testing::Latin1Reading(fields[k]))
          << kKeys[k] << ": " << absl::CHexEscape(fields[k]);
    }
  }
}

TEST(DeliveryLog, AppendsEveryEventAsALine) {
  auto loop = engine::CreateLoop(tern::engine::testing::TestIoEngine());
  if (!loop.ok()) GTEST_SKIP() << loop.status();
  const std::string path = ::testing::TempDir() + "/delivery_log_test.jsonl";
  std::remove(path.c_str());
  {
    auto log = DeliveryLog::Open(loop->get(), path);
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < 1000; ++i) {
      DeliveryEvent e;
      e.event = "received";
      e.queue_id = static_cast<uint64_t>(i);
      e.sender = "a@example.com";
      e.recipients = 1;
      (*log)->Append(e);
    }
    StopWhenIdle stop(loop->get(), log->get());
    (*loop)->timers().Arm(&stop, absl::Now() + absl::Milliseconds(10));
    (*loop)->Run();
    ASSERT_TRUE((*log)->idle());
    EXPECT_EQ((*log)->dropped_events(), 0u);
  }
  std::ifstream in(path);
  std::stringstream contents;
  contents << in.rdbuf();
  std::vector<std::string> lines = absl::StrSplit(contents.str(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 1000u);
  EXPECT_TRUE(absl::StrContains(lines[999], "\"queue_id\":\"00000000000003E7\""));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace tern::delivery
