// Tests of tools/ternd/build_info_metric.h.
#include "tools/ternd/build_info_metric.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "core/build_info.h"
#include "gtest/gtest.h"

namespace tern::tools::ternd {
namespace {

TEST(BuildInfoMetric, IsAGaugeOfOneLabelledWithVersionAndRevision) {
  std::string out;
  AppendBuildInfoMetric("1.2.3", "abc1234-dirty", &out);
  EXPECT_EQ(out,
            "# HELP tern_build_info The running ternd's version and source revision (always "
            "1).\n"
            "# TYPE tern_build_info gauge\n"
            "tern_build_info{version=\"1.2.3\",revision=\"abc1234-dirty\"} 1\n");
}

TEST(BuildInfoMetric, EscapesLabelValues) {
  std::string out;
  AppendBuildInfoMetric("1\"2", "a\\b\nc", &out);
  EXPECT_NE(out.find("{version=\"1\\\"2\",revision=\"a\\\\b\\nc\"} 1\n"), std::string::npos) << out;
}

TEST(BuildInfoMetric, ThisBuildReportsItsOwnVersion) {
  std::string out = "before\n";
  AppendBuildInfoMetric(&out);
  EXPECT_EQ(out.rfind("before\n# HELP tern_build_info ", 0), 0u) << out;
  EXPECT_NE(out.find(absl::StrCat("tern_build_info{version=\"", core::BuildVersion(),
                                  "\",revision=\"", core::BuildRevision(), "\"} 1\n")),
            std::string::npos)
      << out;
}

}  // namespace
}  // namespace tern::tools::ternd
