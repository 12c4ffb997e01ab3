// Tests of tools/program_usage.h: which flag files --help lists and how it names them.
#include "tools/program_usage.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace tern::tools {
namespace {

const std::vector<std::string> kFiles = {"tools/ternd/flags.cc",
                                         "tests/tools/ternd_faults_main.cc"};

TEST(ProgramUsage, MatchesTheProgramsFilesHoweverTheBuildSpelledThem) {
  EXPECT_TRUE(IsOneOf("/work/src/tools/ternd/flags.cc", kFiles));
  EXPECT_TRUE(IsOneOf("../tools/ternd/flags.cc", kFiles));
  EXPECT_TRUE(IsOneOf("tools/ternd/flags.cc", kFiles));
  EXPECT_TRUE(IsOneOf("/x/tests/tools/ternd_faults_main.cc", kFiles));
}

TEST(ProgramUsage, DoesNotMatchAbseilsOrOtherFiles) {
  EXPECT_FALSE(IsOneOf("absl/flags/parse.cc", kFiles));
  EXPECT_FALSE(IsOneOf("absl/flags/internal/usage.cc", kFiles));
  EXPECT_FALSE(IsOneOf("/src/tools/ternctl.cc", kFiles));
  EXPECT_FALSE(IsOneOf("/src/mytools/ternd/flags.cc", kFiles));  // not at a path boundary
}

TEST(ProgramUsage, NormalizesToTheTreePath) {
  EXPECT_EQ(NormalizeSourcePath("/work/src/tools/ternd/flags.cc", kFiles), "tools/ternd/flags.cc");
  EXPECT_EQ(NormalizeSourcePath("../../tools/ternd/flags.cc", kFiles), "tools/ternd/flags.cc");
  EXPECT_EQ(NormalizeSourcePath("../absl/flags/parse.cc", kFiles), "absl/flags/parse.cc");
}

}  // namespace
}  // namespace tern::tools
