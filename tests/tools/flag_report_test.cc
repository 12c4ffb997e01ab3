// Tests of tools/ternd/flag_report.h: non-default flags listed, secrets hidden.
#include "tools/ternd/flag_report.h"

#include <algorithm>

#include "absl/flags/flag.h"
#include "gtest/gtest.h"

ABSL_FLAG(std::string, flag_report_test_route, "", "a test flag");
ABSL_FLAG(std::string, flag_report_test_api_token, "", "a test secret");
ABSL_FLAG(std::string, flag_report_test_token_file, "", "a test path");

namespace tern::ternd {
namespace {

const FlagSetting* Find(const std::vector<FlagSetting>& flags, absl::string_view name) {
  auto it = std::find_if(flags.begin(), flags.end(),
                         [name](const FlagSetting& f) { return f.name == name; });
  return it == flags.end() ? nullptr : &*it;
}

TEST(FlagReport, SecretNames) {
  EXPECT_TRUE(IsSecretFlag("admin_token"));
  EXPECT_TRUE(IsSecretFlag("smarthost_password"));
  EXPECT_TRUE(IsSecretFlag("Webhook_Secret"));
  EXPECT_FALSE(IsSecretFlag("admin_token_file"));  // a path
  EXPECT_FALSE(IsSecretFlag("route"));
}

TEST(FlagReport, ListsOnlyChangedFlagsAndHidesSecrets) {
  EXPECT_EQ(Find(NonDefaultFlags(), "flag_report_test_route"), nullptr);
  absl::SetFlag(&FLAGS_flag_report_test_route, "example.com=[127.0.0.1]:25");
  absl::SetFlag(&FLAGS_flag_report_test_api_token, "s3cret");
  absl::SetFlag(&FLAGS_flag_report_test_token_file, "/etc/tern/token");
  const std::vector<FlagSetting> flags = NonDefaultFlags();
  const FlagSetting* route = Find(flags, "flag_report_test_route");
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->value, "example.com=[127.0.0.1]:25");
  EXPECT_FALSE(route->hidden);
  const FlagSetting* token = Find(flags, "flag_report_test_api_token");
  ASSERT_NE(token, nullptr);
  EXPECT_TRUE(token->hidden);
  EXPECT_EQ(token->value, kHiddenFlagValue);
  ASSERT_NE(Find(flags, "flag_report_test_token_file"), nullptr);
  EXPECT_TRUE(
      std::is_sorted(flags.begin(), flags.end(),
                     [](const FlagSetting& a, const FlagSetting& b) { return a.name < b.name; }));
  const std::string text = FlagsText(flags);
  EXPECT_NE(text.find("--flag_report_test_route=example.com=[127.0.0.1]:25\n"), std::string::npos);
  EXPECT_EQ(text.find("s3cret"), std::string::npos);
  EXPECT_NE(text.find("--flag_report_test_api_token=(hidden)\n"), std::string::npos);
  const std::string json = FlagsJson(flags);
  EXPECT_EQ(json.find("s3cret"), std::string::npos);
  EXPECT_NE(json.find("\"name\":\"flag_report_test_api_token\",\"value\":\"(hidden)\""),
            std::string::npos);
  const std::string lines = FlagsJsonLines(flags);
  EXPECT_EQ(static_cast<size_t>(std::count(lines.begin(), lines.end(), '\n')), flags.size());
  EXPECT_EQ(lines.find("s3cret"), std::string::npos);
}

}  // namespace
}  // namespace tern::ternd
