// The I/O engine a test runs on. Tests that are not about one engine create their loop,
// transport and storage through here: TERN_TEST_IO_ENGINE=epoll runs them on epoll
// (default: io_uring). Tests of the engines themselves are parameterized over
// AllIoEngines() instead.
//
//   std::unique_ptr<core::Loop> loop = testing::NewTestLoop();
//   if (loop == nullptr) GTEST_SKIP() << "I/O engine unavailable";
#pragma once

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "engine/io_engine.h"

namespace tern::engine::testing {

inline engine::IoEngine TestIoEngine() {
  const char* name = std::getenv("TERN_TEST_IO_ENGINE");
  return name != nullptr && std::strcmp(name, "epoll") == 0 ? engine::IoEngine::kEpoll
                                                            : engine::IoEngine::kUring;
}

// Every engine of this build, for tests parameterized by engine.
inline std::vector<engine::IoEngine> AllIoEngines() {
  return {engine::IoEngine::kUring, engine::IoEngine::kEpoll};
}

// "uring" / "epoll", for parameterized test names.
inline std::string IoEngineTestName(engine::IoEngine engine) {
  return engine == engine::IoEngine::kUring ? "uring" : "epoll";
}

}  // namespace tern::engine::testing
