// Tests of net/http_request_head.h: the request line, header fields (any case), framing
// fields, the limits, and a head split at every byte.
#include "net/http_request_head.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace tern::net {
namespace {

HttpHeadParse Parse(absl::string_view bytes, HttpRequestHead* head) {
  return ParseHttpRequestHead(bytes, head);
}

TEST(HttpRequestHead, RequestLineAndFieldsInAnyCase) {
  const std::string bytes =
      "POST /delete?all=1 HTTP/1.1\r\nhOsT:  127.0.0.1:9025 \r\nX-Tern-Request: 1\r\n"
      "Content-Length: 4\r\n\r\nbody";
  HttpRequestHead head;
  ASSERT_EQ(Parse(bytes, &head), HttpHeadParse::kDone);
  EXPECT_EQ(head.method, "POST");
  EXPECT_EQ(head.target, "/delete?all=1");
  EXPECT_EQ(head.path(), "/delete");
  EXPECT_EQ(head.version, "HTTP/1.1");
  EXPECT_EQ(head.Find("Host"), "127.0.0.1:9025");
  EXPECT_EQ(head.Find("x-tern-request"), "1");
  EXPECT_EQ(head.Find("origin"), std::nullopt);
  EXPECT_EQ(head.content_length, 4u);
  EXPECT_EQ(bytes.substr(head.head_bytes), "body");
}

TEST(HttpRequestHead, BareLineFeedsAndNoFields) {
  HttpRequestHead head;
  ASSERT_EQ(Parse("GET /metrics HTTP/1.0\n\n", &head), HttpHeadParse::kDone);
  EXPECT_EQ(head.target, "/metrics");
  EXPECT_TRUE(head.fields.empty());
  EXPECT_EQ(head.head_bytes, 23u);
}

TEST(HttpRequestHead, NeedsMoreUntilTheBlankLineAtEverySplit) {
  const std::string bytes = "GET /queue HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n";
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    HttpRequestHead head;
    EXPECT_EQ(Parse(bytes.substr(0, cut), &head), HttpHeadParse::kNeedMore) << cut;
  }
  HttpRequestHead head;
  EXPECT_EQ(Parse(bytes, &head), HttpHeadParse::kDone);
  EXPECT_EQ(head.head_bytes, bytes.size());
}

TEST(HttpRequestHead, MalformedHeadsAreErrorsWithTheirStatus) {
  const struct {
    const char* bytes;
    int status;
  } cases[] = {
      {"GET /\r\n\r\n", 400},                                    // no version
      {"GET  / HTTP/1.1\r\n\r\n", 400},                          // two spaces
      {"GET / HTTP/1.1 x\r\n\r\n", 400},                         // three words
      {"G(T / HTTP/1.1\r\n\r\n", 400},                           // not a token
      {"GET http://evil.example/ HTTP/1.1\r\n\r\n", 400},        // absolute form
      {"GET /\x01 HTTP/1.1\r\n\r\n", 400},                       // control in target
      {"GET / HTTP/2.0\r\n\r\n", 505},                           // version
      {"GET / FTP/1.0\r\n\r\n", 400},                            //
      {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400},               // space before colon
      {"GET / HTTP/1.1\r\nHost x\r\n\r\n", 400},                 // no colon
      {"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 400},             // obs-fold
      {"GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", 400},               // control in value
      {"GET / HTTP/1.1\r\nHost: a\r\nHOST: b\r\n\r\n", 400},     // two Hosts
      {"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},    //
      {"POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n", 400},  //
      {"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-length: 2\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
  };
  for (const auto& c : cases) {
    HttpRequestHead head;
    EXPECT_EQ(Parse(c.bytes, &head), HttpHeadParse::kError) << c.bytes;
    EXPECT_EQ(head.error_status, c.status) << c.bytes;
    EXPECT_FALSE(head.error.empty());
  }
}

TEST(HttpRequestHead, TheSameContentLengthTwiceIsOne) {
  HttpRequestHead head;
  ASSERT_EQ(Parse("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", &head),
            HttpHeadParse::kDone);
  EXPECT_EQ(head.content_length, 3u);
}

TEST(HttpRequestHead, LimitsOnSizeAndFieldCount) {
  HttpRequestHead head;
  // A head that never ends: 431 at the limit, not before.
  std::string open_head = "GET / HTTP/1.1\r\n";
  while (open_head.size() < kHttpHeadBytesMax - 1) open_head += "A: b\r\n";
  open_head.resize(kHttpHeadBytesMax - 1);
  EXPECT_EQ(Parse(open_head, &head), HttpHeadParse::kNeedMore);
  open_head += "x";
  EXPECT_EQ(Parse(open_head, &head), HttpHeadParse::kError);
  EXPECT_EQ(head.error_status, 431);
  // A request line alone that long: 414.
  EXPECT_EQ(Parse("GET /" + std::string(kHttpHeadBytesMax, 'a'), &head), HttpHeadParse::kError);
  EXPECT_EQ(head.error_status, 414);
  // Too many fields.
  std::string many = "GET / HTTP/1.1\r\n";
  for (size_t i = 0; i <= kHttpHeaderFieldsMax; ++i) absl::StrAppend(&many, "F", i, ": v\r\n");
  EXPECT_EQ(Parse(many + "\r\n", &head), HttpHeadParse::kError);
  EXPECT_EQ(head.error_status, 431);
}

TEST(HttpRequestHead, CountAndFindSeeEveryField) {
  HttpRequestHead head;
  ASSERT_EQ(Parse("GET / HTTP/1.0\r\nX: 1\r\nx: 2\r\nY:\r\n\r\n", &head), HttpHeadParse::kDone);
  EXPECT_EQ(head.Count("X"), 2u);
  EXPECT_EQ(head.Find("x"), "1");
  EXPECT_EQ(head.Find("y"), "");
}

}  // namespace
}  // namespace tern::net
