// net/http_query.h: the admin request's query string, decoded; ternctl's values, encoded.
#include "net/http_query.h"

#include "gtest/gtest.h"

namespace tern::net {
namespace {

TEST(HttpQueryTest, DecodesPercentEscapesAndPlus) {
  const QueryParams params = ParseQuery("sender=a%40b.example&note=two+words&flag&id=1&id=2");
  EXPECT_EQ(QueryValue(params, "sender"), "a@b.example");
  EXPECT_EQ(QueryValue(params, "note"), "two words");
  EXPECT_TRUE(HasQueryKey(params, "flag"));
  EXPECT_EQ(QueryValue(params, "flag"), "");
  EXPECT_FALSE(HasQueryKey(params, "absent"));
  EXPECT_EQ(QueryValues(params, "id"), (std::vector<std::string>{"1", "2"}));
}

TEST(HttpQueryTest, MalformedEscapesStayAsTheyAre) {
  EXPECT_EQ(QueryValue(ParseQuery("a=100%&b=%zz&c=%4"), "a"), "100%");
  EXPECT_EQ(QueryValue(ParseQuery("a=100%&b=%zz&c=%4"), "b"), "%zz");
  EXPECT_EQ(QueryValue(ParseQuery("a=100%&b=%zz&c=%4"), "c"), "%4");
}

TEST(HttpQueryTest, EscapeRoundTripsEveryByte) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  const std::string escaped = QueryEscape(all);
  EXPECT_EQ(escaped.find_first_of("&=+ %\r\n", 0), escaped.find('%'));  // only escapes
  EXPECT_EQ(QueryValue(ParseQuery("v=" + escaped), "v"), all);
  EXPECT_EQ(QueryEscape("<>"), "%3C%3E");
  EXPECT_EQ(QueryEscape("a.b-c_d~"), "a.b-c_d~");
}

}  // namespace
}  // namespace tern::net
