// Test helpers shared by the tests that work on real files: a temporary directory removed
// when the test ends, and whole-file reads and writes.
//
//   tern::core::testing::TempDir dir("spool_test");
//   tern::core::testing::WriteFile(dir.path() + "/x", "bytes");
//   EXPECT_EQ(tern::core::testing::ReadFile(dir.path() + "/x"), "bytes");
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "absl/strings/string_view.h"
#include "core/check.h"
#include "gtest/gtest.h"

namespace tern::core::testing {

// A directory removed when the test ends; `prefix` names it in /tmp.
class TempDir {
 public:
  explicit TempDir(absl::string_view prefix) {
    std::string pattern = ::testing::TempDir() + std::string(prefix) + ".XXXXXX";
    CHECK(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The whole file, or "" when it cannot be opened.
inline std::string ReadFile(const std::string& path) {
  std::string out;
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return out;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

// Replaces the file's content with `bytes` (mode 0640 when created).
inline void WriteFile(const std::string& path, absl::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0640);
  CHECK(fd >= 0);
  CHECK(::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

}  // namespace tern::core::testing
