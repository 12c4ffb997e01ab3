// ParseDecimalCount and ParseBdatArgument.
#include "net/smtp/command_arguments.h"

#include "gtest/gtest.h"

namespace tern::net::smtp {
namespace {

TEST(CommandArgumentsTest, DecimalCounts) {
  uint64_t v = 0;
  EXPECT_TRUE(ParseDecimalCount("0", &v));
  EXPECT_EQ(v, 0u);
  EXPECT_TRUE(ParseDecimalCount("18446744073709551615", &v));
  EXPECT_EQ(v, UINT64_MAX);
  for (const char* bad :
       {"", "-1", "+1", "1 ", " 1", "1x", "18446744073709551616", "000000000000000000001"}) {
    EXPECT_FALSE(ParseDecimalCount(bad, &v)) << bad;
  }
}

TEST(CommandArgumentsTest, BdatArguments) {
  uint64_t size = 0;
  bool last = true;
  EXPECT_TRUE(ParseBdatArgument("1000", &size, &last));
  EXPECT_EQ(size, 1000u);
  EXPECT_FALSE(last);
  EXPECT_TRUE(ParseBdatArgument("0 LAST", &size, &last));
  EXPECT_EQ(size, 0u);
  EXPECT_TRUE(last);
  EXPECT_TRUE(ParseBdatArgument("7 last", &size, &last));
  EXPECT_TRUE(last);
  for (const char* bad :
       {"", "LAST", "x LAST", "10 FIRST", "10 LAST x", "10  LAST", "10 ", "-5 LAST"}) {
    EXPECT_FALSE(ParseBdatArgument(bad, &size, &last)) << bad;
  }
}

}  // namespace
}  // namespace tern::net::smtp
