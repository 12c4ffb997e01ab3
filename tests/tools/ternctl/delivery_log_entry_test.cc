// Tests of tools/ternctl/delivery_log_entry.h: ternd's own lines parse; anything else is
// refused without crashing.
#include "tools/ternctl/delivery_log_entry.h"

#include <string>

#include "absl/time/time.h"
#include "delivery/delivery_log.h"
#include "gtest/gtest.h"

namespace tern::tools::ternctl {
namespace {

TEST(DeliveryLogEntry, ParsesWhatTerndWrites) {
  const absl::Time at = absl::FromUnixMillis(1796000000123);
  const std::string line = delivery::FormatDeliveryEvent({.event = "deferred",
                                                          .queue_id = 0xABCDEF0123456789,
                                                          .sender = "Alice@Sender.Test",
                                                          .recipient = "bob@Dest.Test",
                                                          .destination = "[127.0.0.1]:25",
                                                          .reply = "451 4.7.1 later",
                                                          .attempts = 2,
                                                          .delay = absl::Milliseconds(1500),
                                                          .time = at});
  std::optional<DeliveryLogEntry> e = ParseDeliveryLogLine(line);
  ASSERT_TRUE(e.has_value()) << line;
  EXPECT_EQ(e->event, LogEvent::kDeferred);
  EXPECT_EQ(e->time, at);
  EXPECT_EQ(e->queue_id, 0xABCDEF0123456789u);
  EXPECT_EQ(e->sender, "Alice@Sender.Test");
  EXPECT_EQ(e->recipient, "bob@Dest.Test");
  EXPECT_EQ(e->reply, "451 4.7.1 later");
  EXPECT_EQ(e->delay_ms, 1500);
  EXPECT_EQ(LogAddressDomain(e->sender), "sender.test");
  EXPECT_EQ(LogAddressDomain(""), "<>");
  EXPECT_EQ(LogAddressDomain("a@" + std::string(5000, 'x')).size(), kLogDomainBytesMax);
}

TEST(DeliveryLogEntry, RefusesForeignAndMalformedLines) {
  for (const char* line : {
           "",
           "not json",
           "{",
           "[]",
           "42",
           "\"s\"",
           "{}",
           R"({"time":"2026-12-06T10:00:00Z"})",
           R"({"event":"delivered"})",
           R"({"time":"yesterday","event":"delivered"})",
           R"({"time":"2026-12-06T10:00:00Z","event":"exploded"})",
           R"({"time":7,"event":"delivered"})",
           R"({"time":"2026-12-06T10:00:00Z","event":["delivered"]})",
           "{\"time\":\"2026-12-06T10:00:00Z\",\"event\":\"delivered\"",
       }) {
    EXPECT_FALSE(ParseDeliveryLogLine(line).has_value()) << line;
  }
}

TEST(DeliveryLogEntry, ToleratesOddFieldTypes) {
  std::optional<DeliveryLogEntry> e = ParseDeliveryLogLine(
      R"({"time":"2026-12-06T10:00:00.5Z","event":"delivered","queue_id":"zz","sender":5,)"
      R"("recipient":null,"delay_ms":-4,"extra":{"a":[1,2]}})");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->queue_id, 0u);
  EXPECT_EQ(e->sender, "");
  EXPECT_FALSE(e->delay_ms.has_value());
}

}  // namespace
}  // namespace tern::tools::ternctl
