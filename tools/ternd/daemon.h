// RunDaemon / TerndMain: ternd's whole life after main(): flags, listeners, the spool lock,
// the shards, the admin endpoint, then a graceful stop on SIGTERM/SIGINT. main() calls
// TerndMain with no hooks; test-only daemons (tests/tools/ternd_faults) pass hooks to put a
// fault-injecting storage under each shard's spool. Production ternd never sets a hook.
//
//   int main(int argc, char** argv) { return tern::tools::ternd::TerndMain(argc, argv, {}); }
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/loop.h"
#include "spool/storage.h"

namespace tern::tools::ternd {

struct DaemonHooks {
  // The name --version prints and the source files (beyond tools/ternd/flags.cc) whose flags
  // --help lists; a test daemon with flags of its own names itself and them here.
  std::string program = "ternd";
  std::vector<std::string> extra_flag_files;
  // Called once flags are parsed, before anything starts; non-zero: exit with it.
  std::function<int()> after_flags;
  // Called on each shard's thread once its loop exists: the storage backend for its spool
  // (owned by the shard, destroyed after the spool). Empty: the ring backend.
  std::function<std::unique_ptr<spool::StorageBackend>(int shard, core::Loop* loop)>
      storage_factory;
};

// Parses the command line (repeatable list flags included), then RunDaemon. Returns the
// process exit code.
int TerndMain(int argc, char** argv, const DaemonHooks& hooks);

// Runs the daemon with the parsed flags until SIGTERM/SIGINT. Returns the exit code.
int RunDaemon(const DaemonHooks& hooks);

}  // namespace tern::tools::ternd
