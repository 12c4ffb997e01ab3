// Invariant assertions. CHECK is always on: use it for what would corrupt the spool or
// memory if false. DCHECK is compiled out in release builds: use it for costly checks.
// Untrusted input must never reach a CHECK; it gets an SMTP reply instead.
//
//   CHECK(offset <= segment_bytes_max);
//   CHECK_EQ(header.magic, kRecordMagic);
#pragma once

#include <cstdio>
#include <cstdlib>

namespace tern::core {
[[noreturn]] void CheckFailed(const char* file, int line, const char* expr);
}  // namespace tern::core

#define CHECK(cond)                                                                         \
  do {                                                                                      \
    if (__builtin_expect(!(cond), 0)) ::tern::core::CheckFailed(__FILE__, __LINE__, #cond); \
  } while (0)
#define CHECK_EQ(a, b) CHECK((a) == (b))
#define CHECK_NE(a, b) CHECK((a) != (b))
#define CHECK_LE(a, b) CHECK((a) <= (b))
#define CHECK_LT(a, b) CHECK((a) < (b))
#define CHECK_GE(a, b) CHECK((a) >= (b))
#define CHECK_GT(a, b) CHECK((a) > (b))

#ifdef NDEBUG
#define DCHECK(cond) \
  do {               \
  } while (0)
#else
#define DCHECK(cond) CHECK(cond)
#endif
