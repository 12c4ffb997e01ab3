// Flags that both tern-bench modes read (each mode defines its own in its *_main.cc).
#pragma once

#include <cstdint>
#include <memory>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "engine/io_engine.h"

ABSL_DECLARE_FLAG(bool, json);              // the summary as one JSON object on stdout
ABSL_DECLARE_FLAG(uint32_t, threads);       // event-loop threads, each with its own ring
ABSL_DECLARE_FLAG(bool, quiet);             // no progress lines
ABSL_DECLARE_FLAG(std::string, io_engine);  // uring, epoll or auto

namespace tern::tools::tern_bench {
// --threads, or 1 when it is 0.
uint32_t ThreadCount();
// --io_engine resolved (engine::ResolveIoEngine), once per process: every thread's loop and
// transport run on it.
absl::StatusOr<engine::IoEngine> BenchIoEngine();
// A loop of that engine, for a thread's core::ShardThread (its LoopFactory).
absl::StatusOr<std::unique_ptr<core::Loop>> CreateBenchLoop();
}  // namespace tern::tools::tern_bench
