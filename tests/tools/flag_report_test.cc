// Tests of tools/ternd/flag_report.h: non-default flags listed, secrets hidden.
#include "tools/ternd/flag_report.h"

#include <algorithm>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "gtest/gtest.h"
#include "tools/ternd/flags.h"

namespace tern::tools::ternd {
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
  const std::vector<FlagSetting> flags = NonDefault({
      {.name = "smarthost", .current = "", .default_value = ""},
      {.name = "route", .current = "example.com=[127.0.0.1]:25", .default_value = ""},
      {.name = "api_token", .current = "s3cret", .default_value = "d3fault"},
      {.name = "admin_token_file", .current = "/etc/tern/token", .default_value = ""},
      {.name = "flagfile", .current = "/etc/tern/ternd.flags", .default_value = ""},
  });
  ASSERT_EQ(flags.size(), 3u);
  EXPECT_EQ(Find(flags, "smarthost"), nullptr);  // at its default
  EXPECT_EQ(Find(flags, "flagfile"), nullptr);   // abseil's own
  const FlagSetting* route = Find(flags, "route");
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->value, "example.com=[127.0.0.1]:25");
  EXPECT_FALSE(route->hidden);
  const FlagSetting* token = Find(flags, "api_token");
  ASSERT_NE(token, nullptr);
  EXPECT_TRUE(token->hidden);
  EXPECT_EQ(token->value, kHiddenFlagValue);
  EXPECT_EQ(token->default_value, kHiddenFlagValue);
  ASSERT_NE(Find(flags, "admin_token_file"), nullptr);
  EXPECT_TRUE(
      std::is_sorted(flags.begin(), flags.end(),
                     [](const FlagSetting& a, const FlagSetting& b) { return a.name < b.name; }));
  const std::string text = FlagsText(flags);
  EXPECT_NE(text.find("--route=example.com=[127.0.0.1]:25\n"), std::string::npos);
  EXPECT_EQ(text.find("s3cret"), std::string::npos);
  EXPECT_NE(text.find("--api_token=(hidden)\n"), std::string::npos);
  const std::string json = FlagsJson(flags);
  EXPECT_EQ(json.find("s3cret"), std::string::npos);
  EXPECT_NE(json.find("\"name\":\"api_token\",\"value\":\"(hidden)\""), std::string::npos);
  const std::string lines = FlagsJsonLines(flags);
  EXPECT_EQ(static_cast<size_t>(std::count(lines.begin(), lines.end(), '\n')), flags.size());
  EXPECT_EQ(lines.find("s3cret"), std::string::npos);
}

// The registry adapter sees ternd's own flags (tools/ternd/flags.cc).
TEST(FlagReport, RegisteredFlagSetAtRunTimeIsListed) {
  absl::FlagSaver restore_flags;
  EXPECT_EQ(Find(NonDefaultFlags(), "max_recipients"), nullptr);
  absl::SetFlag(&FLAGS_max_recipients, 7);
  const std::vector<FlagSetting> flags = NonDefaultFlags();  // Find() points into it
  const FlagSetting* listed = Find(flags, "max_recipients");
  ASSERT_NE(listed, nullptr);
  EXPECT_EQ(listed->value, "7");
  EXPECT_EQ(listed->default_value, "1000");
  EXPECT_FALSE(listed->hidden);
}

}  // namespace
}  // namespace tern::tools::ternd
