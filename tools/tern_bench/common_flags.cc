// Flags shared by tern-bench's modes (common_flags.h).
#include "tools/tern_bench/common_flags.h"

#include "absl/flags/flag.h"

ABSL_FLAG(bool, json, false, "print the summary as one JSON object on stdout");
ABSL_FLAG(uint32_t, threads, 1,
          "threads, each with its own io_uring ring and share of the connections");
ABSL_FLAG(bool, quiet, false, "no progress line every second (on stderr)");

namespace tern::bench {

uint32_t ThreadCount() {
  const uint32_t threads = absl::GetFlag(FLAGS_threads);
  return threads == 0 ? 1 : threads;
}

}  // namespace tern::bench
