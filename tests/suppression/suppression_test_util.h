// Helpers for the suppression tests: a temporary directory per test, whole-file reads and
// writes, and entries built in one line.
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <ostream>
#include <string>

#include "absl/strings/string_view.h"
#include "core/check.h"
#include "gtest/gtest.h"
#include "suppression/entry.h"

namespace tern::suppression {

// Entries print as one readable line in test failures.
inline void PrintTo(const Entry& e, std::ostream* os) {
  *os << "{" << e.target << " scope=" << e.scope << " reason=" << ReasonName(e.reason)
      << " created=" << e.created << " expires=" << e.expires << " event=" << e.event << "}";
}

}  // namespace tern::suppression

namespace tern::suppression::testing {

// A directory removed when the test ends.
class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "suppression_test.XXXXXX";
    CHECK(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

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

inline void WriteFile(const std::string& path, absl::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0640);
  CHECK(fd >= 0);
  CHECK(::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

inline Entry MakeEntry(std::string target, std::string scope = "",
                       Reason reason = Reason::kHardBounce, int64_t created = 1000,
                       int64_t expires = 0, std::string event = "550 5.1.1 user unknown") {
  return Entry{std::move(target), std::move(scope), reason, std::move(event), created, expires};
}

}  // namespace tern::suppression::testing
