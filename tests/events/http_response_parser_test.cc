// The webhook receiver's response: framings, limits, and every split of the bytes.
#include "events/http_response_parser.h"

#include "gtest/gtest.h"

namespace tern::events {
namespace {

struct Parsed {
  HttpResponseParser::Result result;
  int status = 0;
  bool keep_alive = false;
  std::string body;
};

Parsed ParseSplit(const std::string& bytes, size_t split, bool close_at_end) {
  HttpResponseParser parser;
  HttpResponseParser::Result result = parser.Feed(bytes.substr(0, split));
  if (result == HttpResponseParser::Result::kNeedMore) result = parser.Feed(bytes.substr(split));
  if (result == HttpResponseParser::Result::kNeedMore && close_at_end) {
    result = parser.FinishAtClose();
  }
  return {result, parser.status_code(), parser.keep_alive(), parser.body()};
}

TEST(HttpResponseParser, FramingsAtEverySplit) {
  struct Case {
    std::string bytes;
    bool close_at_end;
    int status;
    bool keep_alive;
    std::string body;
  } cases[] = {
      {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n", false, 200, true, "ok\n"},
      {"HTTP/1.1 204 No Content\r\n\r\n", false, 204, true, ""},
      {"HTTP/1.1 503 Busy\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false, 503, false,
       ""},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\nab\r\n1\r\nc\r\n0\r\nT: "
       "v\r\n\r\n",
       false, 200, true, "abc"},
      {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx", false,
       201, true, "x"},
      {"HTTP/1.0 200 OK\r\n\r\nuntil close", true, 200, false, "until close"},
      {"HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", false, 200, true, "hi"},
  };
  for (const Case& c : cases) {
    for (size_t split = 0; split <= c.bytes.size(); ++split) {
      Parsed parsed = ParseSplit(c.bytes, split, c.close_at_end);
      ASSERT_EQ(parsed.result, HttpResponseParser::Result::kDone) << c.bytes << " @" << split;
      EXPECT_EQ(parsed.status, c.status);
      EXPECT_EQ(parsed.keep_alive, c.keep_alive) << c.bytes;
      EXPECT_EQ(parsed.body, c.body) << c.bytes;
    }
  }
}

TEST(HttpResponseParser, BadResponsesAreErrors) {
  const std::string cases[] = {
      "HTTP/2 200 OK\r\n\r\n",
      "HTTP/1.1 2000 OK\r\n\r\n",
      "HTTP/1.1 20x OK\r\n\r\n",
      "ICY 200 OK\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n",
      "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
      "HTTP/1.1 200 OK\r\n folded\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFF\r\n",
      "HTTP/1.1 200 OK\r\nX: " + std::string(HttpResponseParser::kLineBytesMax, 'a') + "\r\n\r\n",
  };
  for (const std::string& bytes : cases) {
    HttpResponseParser parser;
    EXPECT_EQ(parser.Feed(bytes), HttpResponseParser::Result::kError) << bytes.substr(0, 80);
    EXPECT_FALSE(parser.error().empty());
  }
  std::string many = "HTTP/1.1 200 OK\r\n";
  for (size_t i = 0; i <= HttpResponseParser::kHeaderFieldsMax; ++i) many += "X: y\r\n";
  HttpResponseParser parser;
  EXPECT_EQ(parser.Feed(many), HttpResponseParser::Result::kError);
  HttpResponseParser truncated;
  EXPECT_EQ(truncated.Feed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab"),
            HttpResponseParser::Result::kNeedMore);
  EXPECT_EQ(truncated.FinishAtClose(), HttpResponseParser::Result::kError);
}

TEST(HttpResponseParser, LongBodyIsReadButNotKept) {
  std::string body(100'000, 'b');
  HttpResponseParser parser;
  ASSERT_EQ(parser.Feed("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + body + "EXTRA"),
            HttpResponseParser::Result::kDone);
  EXPECT_EQ(parser.body().size(), HttpResponseParser::kBodyKeptBytesMax);
  EXPECT_EQ(parser.body_bytes(), 100'000u);
  HttpResponseParser until_close;
  until_close.Feed("HTTP/1.0 200 OK\r\n\r\n");
  EXPECT_EQ(until_close.Feed(std::string(HttpResponseParser::kBodyBytesMax + 1, 'x')),
            HttpResponseParser::Result::kError);
}

}  // namespace
}  // namespace tern::events
