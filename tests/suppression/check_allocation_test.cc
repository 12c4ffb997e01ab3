// Check() at RCPT allocates nothing: the global operator new is replaced in this test binary
// by one that counts allocations per thread. Not under AddressSanitizer, which has its own
// (tests/suppression/CMakeLists.txt builds this binary only without TERN_SANITIZE; the guard
// below covers a sanitizer added by hand, in gcc's and in clang's spelling).
#include <cstdlib>
#include <new>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "suppression/suppression_index.h"
#include "tests/suppression/suppression_test_util.h"

#if defined(__SANITIZE_ADDRESS__)
#define TERN_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TERN_UNDER_ASAN 1
#endif
#endif

#if !defined(TERN_UNDER_ASAN)

namespace {
thread_local size_t allocations = 0;
}  // namespace

void* operator new(size_t bytes) {
  ++allocations;
  if (void* p = std::malloc(bytes == 0 ? 1 : bytes)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace tern::suppression {
namespace {

TEST(SuppressionIndex, CheckAllocatesNothing) {
  SuppressionIndex index;
  for (int i = 0; i < 5000; ++i) {
    index.Put(
        testing::MakeEntry(absl::StrCat("user", i, "@example.com"), i % 2 ? "" : "s.example"));
  }
  index.Put(testing::MakeEntry("example.org"));
  const std::string long_recipient = std::string(300, 'x') + "@example.org";
  size_t hits = 0;
  const size_t before = allocations;
  for (int i = 0; i < 1000; ++i) {
    hits += index.Check("s.example", "USER42@example.com", 2000).has_value();
    hits += index.Check("bob@s.example", "user43@Example.com", 2000).has_value();
    hits += index.Check("", "nobody@example.com", 2000).has_value();
    hits += index.Check("other.example", "a@EXAMPLE.org", 2000).has_value();
    hits += index.Check("", long_recipient, 2000).has_value();
  }
  EXPECT_EQ(allocations, before);
  EXPECT_EQ(hits, 4000u);
}

}  // namespace
}  // namespace tern::suppression

#endif  // !defined(TERN_UNDER_ASAN)
