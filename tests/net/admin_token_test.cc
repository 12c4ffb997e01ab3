// Tests of net/admin_token.h on real files: modes, newline stripping, empty and odd tokens.
#include "net/admin_token.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace tern::net {
namespace {

class AdminTokenTest : public ::testing::Test {
 protected:
  AdminTokenTest() {
    std::string pattern = ::testing::TempDir() + "/tern-token-XXXXXX";
    dir_ = ::mkdtemp(pattern.data()) != nullptr ? pattern : "";
    EXPECT_FALSE(dir_.empty());
  }
  ~AdminTokenTest() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

  std::string Write(const std::string& text, mode_t mode) {
    const std::string path = dir_ + "/token" + std::to_string(files_++);
    std::ofstream(path) << text;
    EXPECT_EQ(::chmod(path.c_str(), mode), 0);
    return path;
  }

 private:
  std::string dir_;
  int files_ = 0;
};

TEST_F(AdminTokenTest, OneLineWithItsNewlineStripped) {
  EXPECT_EQ(*LoadAdminToken(Write("abc123\n", 0600)), "abc123");
  EXPECT_EQ(*LoadAdminToken(Write("abc123\r\n", 0640)), "abc123");
  EXPECT_EQ(*LoadAdminToken(Write("abc123", 0400)), "abc123");
}

TEST_F(AdminTokenTest, AFileOthersCanReadOrWriteIsRefused) {
  for (mode_t mode : {0644, 0604, 0602, 0601}) {
    absl::StatusOr<std::string> token = LoadAdminToken(Write("abc\n", mode));
    ASSERT_FALSE(token.ok()) << mode;
    EXPECT_NE(token.status().message().find("accessible by others"), std::string::npos);
  }
}

TEST_F(AdminTokenTest, EmptyOddMissingAndHugeTokensAreRefused) {
  EXPECT_FALSE(LoadAdminToken(Write("", 0600)).ok());
  EXPECT_FALSE(LoadAdminToken(Write("\n", 0600)).ok());
  EXPECT_FALSE(LoadAdminToken(Write("two words\n", 0600)).ok());
  EXPECT_FALSE(LoadAdminToken(Write("line\nline\n", 0600)).ok());
  EXPECT_FALSE(LoadAdminToken(Write(std::string(kAdminTokenBytesMax + 1, 'a'), 0600)).ok());
  EXPECT_TRUE(LoadAdminToken(Write(std::string(kAdminTokenBytesMax, 'a'), 0600)).ok());
  EXPECT_FALSE(LoadAdminToken("/nonexistent/tern/token").ok());
  EXPECT_FALSE(LoadAdminToken("/").ok());
}

}  // namespace
}  // namespace tern::net
