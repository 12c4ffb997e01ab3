// Tests of delivery/message_headers.h.
#include "delivery/message_headers.h"

#include <string>

#include "core/utf8.h"
#include "gtest/gtest.h"

namespace tern::delivery {
namespace {

TEST(FindMessageId, FirstHeaderInTheHeaderSectionOnly) {
  EXPECT_EQ(FindMessageId("Received: x\r\nmessage-id:  <a@b>  \r\nMessage-ID: <c@d>\r\n\r\nx"),
            "<a@b>");
  EXPECT_EQ(FindMessageId("Subject: s\r\n\r\nMessage-ID: <in@body>\r\n"), "");
  EXPECT_EQ(FindMessageId(""), "");
  EXPECT_EQ(FindMessageId("Message-ID: <no-crlf@end>"), "<no-crlf@end>");
}

TEST(FindMessageId, BoundedScan) {
  std::string huge = "X: " + std::string(kHeaderScanBytesMax, 'a') + "\r\nMessage-ID: <late@x>\r\n";
  EXPECT_EQ(FindMessageId(huge), "");
}

// A long Message-ID of 3-byte characters is cut on a character boundary, never inside one.
TEST(FindMessageId, LongIdCutOnACharacterBoundary) {
  std::string id = "<";
  while (id.size() < kMessageIdBytesMax + 10) id += "\xe2\x82\xac";  // €
  const std::string header = "Message-ID: " + id + "\r\n\r\n";       // outlives the view
  const absl::string_view found = FindMessageId(header);
  EXPECT_LE(found.size(), kMessageIdBytesMax);
  EXPECT_GE(found.size() + 3, kMessageIdBytesMax);
  EXPECT_TRUE(core::IsValidUtf8(found));
}

}  // namespace
}  // namespace tern::delivery
