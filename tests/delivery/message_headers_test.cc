// Tests of delivery/message_headers.h.
#include "delivery/message_headers.h"

#include <string>

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

}  // namespace
}  // namespace tern::delivery
