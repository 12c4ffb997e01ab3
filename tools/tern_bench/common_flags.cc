// Flags shared by tern-bench's modes (common_flags.h).
#include "tools/tern_bench/common_flags.h"

#include <string>

#include "absl/flags/flag.h"

ABSL_FLAG(bool, json, false, "print the summary as one JSON object on stdout");
ABSL_FLAG(uint32_t, threads, 1,
          "threads, each with its own event loop and share of the connections");
ABSL_FLAG(std::string, io_engine, "auto",
          "the I/O engine: uring (io_uring), epoll, or auto (io_uring, else epoll)");
ABSL_FLAG(bool, quiet, false, "no progress line every second (on stderr)");

namespace tern::tools::tern_bench {

uint32_t ThreadCount() {
  const uint32_t threads = absl::GetFlag(FLAGS_threads);
  return threads == 0 ? 1 : threads;
}

absl::StatusOr<engine::IoEngine> BenchIoEngine() {
  static const absl::StatusOr<engine::IoEngine> resolved =
      []() -> absl::StatusOr<engine::IoEngine> {
    absl::StatusOr<engine::IoEngineChoice> choice =
        engine::ParseIoEngineChoice(absl::GetFlag(FLAGS_io_engine));
    if (!choice.ok()) return choice.status();
    return engine::ResolveIoEngine(*choice);
  }();
  return resolved;
}

absl::StatusOr<std::unique_ptr<core::Loop>> CreateBenchLoop() {
  absl::StatusOr<engine::IoEngine> io_engine = BenchIoEngine();
  if (!io_engine.ok()) return io_engine.status();
  return engine::CreateLoop(*io_engine);
}

}  // namespace tern::tools::tern_bench
