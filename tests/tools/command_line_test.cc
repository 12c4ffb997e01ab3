// Tests of tools/ternd/command_line.h: repeated list flags merge, flagfiles expand.
#include "tools/ternd/command_line.h"

#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tern::tools::ternd {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> Prepare(std::vector<const char*> args) {
  args.insert(args.begin(), "ternd");
  auto out = PrepareCommandLine(static_cast<int>(args.size()), args.data(), TerndListFlags());
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : std::vector<std::string>{};
}

std::string WriteFile(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(CommandLineTest, RepeatedListFlagsMergeInOrder) {
  EXPECT_THAT(Prepare({"--route=a.test=[127.0.0.1]:1", "--shards=2", "--route",
                       "b.test=[127.0.0.1]:2", "-route=c.test=x:3"}),
              ElementsAre("ternd", "--route=a.test=[127.0.0.1]:1,b.test=[127.0.0.1]:2,c.test=x:3",
                          "--shards=2"));
}

TEST(CommandLineTest, OtherFlagsAreLeftAsGiven) {
  EXPECT_THAT(Prepare({"--smarthost=[h]:25", "--shards", "3", "--deliver=false"}),
              ElementsAre("ternd", "--smarthost=[h]:25", "--shards", "3", "--deliver=false"));
}

TEST(CommandLineTest, AnEmptyOccurrenceClearsTheEarlierOnes) {
  EXPECT_THAT(Prepare({"--listen=127.0.0.1:25", "--listen=", "--listen=[::1]:25"}),
              ElementsAre("ternd", "--listen=[::1]:25"));
}

TEST(CommandLineTest, FlagfilesExpandInPlaceAndMerge) {
  const std::string inner = WriteFile("inner.flags", "--route=c.test=[127.0.0.3]:25\n");
  const std::string outer = WriteFile(
      "outer.flags",
      "# routes\n--route=b.test=[127.0.0.2]:25\n\n  --shards=4  \n--flagfile=" + inner + "\n");
  EXPECT_THAT(Prepare({"--route=a.test=[127.0.0.1]:25", ("--flagfile=" + outer).c_str()}),
              ElementsAre("ternd",
                          "--route=a.test=[127.0.0.1]:25,b.test=[127.0.0.2]:25,"
                          "c.test=[127.0.0.3]:25",
                          "--shards=4"));
}

TEST(CommandLineTest, ArgumentsAfterDoubleDashAreUntouched) {
  EXPECT_THAT(Prepare({"--route=a=b", "--", "--route=c=d"}),
              ElementsAre("ternd", "--route=a=b", "--", "--route=c=d"));
}

TEST(CommandLineTest, MissingOrSelfNestedFlagfileIsAnError) {
  const char* missing[] = {"ternd", "--flagfile=/nonexistent/tern.flags"};
  auto out = PrepareCommandLine(2, missing, TerndListFlags());
  EXPECT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()), ::testing::HasSubstr("cannot read"));

  const std::string self = ::testing::TempDir() + "/self.flags";
  WriteFile("self.flags", "--flagfile=" + self + "\n");
  const std::string arg = "--flagfile=" + self;
  const char* nested[] = {"ternd", arg.c_str()};
  out = PrepareCommandLine(2, nested, TerndListFlags());
  EXPECT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()), ::testing::HasSubstr("nest deeper"));
}

TEST(CommandLineTest, LastFlagValueFindsTheLastOccurrenceInEitherForm) {
  const std::vector<std::string> prepared = {"ternd",
                                             "--smarthost=[10.0.0.1]:25",
                                             "--route=a=b,c=d",
                                             "-smarthost",
                                             "[10.0.0.2]:587",
                                             "--smarthost_extra=x",
                                             "--",
                                             "--smarthost=ignored"};
  EXPECT_EQ(LastFlagValue(prepared, "smarthost"), "[10.0.0.2]:587");
  EXPECT_EQ(LastFlagValue(prepared, "route"), "a=b,c=d");
  EXPECT_EQ(LastFlagValue(prepared, "dkim_key"), "");
}

}  // namespace
}  // namespace tern::tools::ternd
