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
#include "tests/core/temp_files.h"

namespace tern::suppression {

// Entries print as one readable line in test failures.
inline void PrintTo(const Entry& e, std::ostream* os) {
  *os << "{" << e.target << " scope=" << e.scope << " reason=" << ReasonName(e.reason)
      << " created=" << e.created << " expires=" << e.expires << " event=" << e.event << "}";
}

}  // namespace tern::suppression

namespace tern::suppression::testing {

// A directory removed when the test ends, named for these tests.
class TempDir : public tern::core::testing::TempDir {
 public:
  TempDir() : tern::core::testing::TempDir("suppression_test") {}
};
using tern::core::testing::ReadFile;
using tern::core::testing::WriteFile;

inline Entry MakeEntry(std::string target, std::string scope = "",
                       Reason reason = Reason::kHardBounce, int64_t created = 1000,
                       int64_t expires = 0, std::string event = "550 5.1.1 user unknown") {
  return Entry{std::move(target), std::move(scope), reason, std::move(event), created, expires};
}

}  // namespace tern::suppression::testing
