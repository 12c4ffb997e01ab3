// The event's binary and JSON encodings.
#include "events/event.h"

#include <set>

#include "events_test_util.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace tern::events {
namespace {

TEST(Event, BinaryRoundTrip) {
  Event event = TestEvent(3);
  event.event_time = absl::FromUnixMicros(1'700'000'000'123'456);
  event.metadata = "{\"campaign\":\"x\"}";
  event.reply = std::string("550 bad \xfc\0 tail", 15);
  std::string bytes;
  EncodeEvent(event, &bytes);
  absl::StatusOr<Event> back = DecodeEvent(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, event);
}

TEST(Event, DecodeRejectsEveryTruncationAndTrailingBytes) {
  std::string bytes;
  EncodeEvent(TestEvent(1), &bytes);
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_FALSE(DecodeEvent(absl::string_view(bytes).substr(0, cut)).ok()) << cut;
  }
  EXPECT_FALSE(DecodeEvent(bytes + "x").ok());
}

TEST(Event, IdsAreUniqueHex) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    std::string id = NewEventId();
    ASSERT_EQ(id.size(), 32u);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(Event, BatchJsonIsAnArrayOfObjects) {
  std::vector<Event> events = {TestEvent(1), TestEvent(2)};
  events[0].metadata = "{\"campaign\":\"spring\",\"n\":[1,2]}";
  events[1].metadata = "not json {";
  events[1].queue_id = 0x1f;
  nlohmann::json batch = nlohmann::json::parse(EventBatchJson(events));
  ASSERT_TRUE(batch.is_array());
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch[0]["event_id"], events[0].event_id);
  EXPECT_EQ(batch[0]["metadata"]["campaign"], "spring");
  EXPECT_EQ(batch[1]["metadata"], "not json {");
  EXPECT_EQ(batch[1]["queue_id"], "000000000000001f");
  EXPECT_EQ(batch[1]["type"], std::string(EventTypeName(events[1].type)));
  EXPECT_EQ(batch[0]["recipient"], events[0].recipient);
  EXPECT_EQ(batch[0]["attempts"], events[0].attempts);
  EXPECT_EQ(nlohmann::json::parse(EventBatchJson({})).size(), 0u);
}

}  // namespace
}  // namespace tern::events
