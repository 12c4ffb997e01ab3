// ternd-faults: ternd with FaultInjectingStorage under every shard's spool, for the
// integration tests of what clients see when the disk fails (451 4.3.0 when an fdatasync
// fails, 452 4.3.1 when the disk is full) and of the soak script. Built with the tests only;
// never installed. Every fault flag counts per shard.
//
//   ternd-faults --fault_sync_fail_at=3,7 --spool_dir=... (any ternd flag)
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "core/log.h"
#include "spool/testing/fault_injecting_storage.h"
#include "tools/ternd/daemon.h"

ABSL_FLAG(std::string, fault_sync_fail_at, "",
          "comma-separated N: the Nth commit's fdatasync fails with EIO (per shard)");
ABSL_FLAG(double, fault_sync_fail_rate, 0, "probability that a commit's fdatasync fails with EIO");
ABSL_FLAG(double, fault_torn_write_rate, 0,
          "probability that a commit's write is torn (a prefix lands) and fails with EIO");
ABSL_FLAG(uint64_t, fault_capacity_bytes, 0,
          "segment files beyond this many bytes per shard fail with ENOSPC (0: no limit)");
ABSL_FLAG(uint64_t, fault_seed, 1, "seed of the random faults (shard i uses seed + i)");

namespace {

using tern::spool::testing::FaultInjectingStorage;
using tern::spool::testing::FaultOp;

int CheckFaultFlags() {
  for (absl::string_view n :
       absl::StrSplit(absl::GetFlag(FLAGS_fault_sync_fail_at), ',', absl::SkipEmpty())) {
    uint64_t value = 0;
    if (!absl::SimpleAtoi(n, &value) || value == 0) {
      std::fprintf(stderr, "ternd-faults: --fault_sync_fail_at: bad call number '%s'\n",
                   std::string(n).c_str());
      return 2;
    }
  }
  TERN_LOG(kWarning, "*** ternd-faults: disk faults are injected on purpose (tests only) ***");
  return 0;
}

std::unique_ptr<tern::spool::StorageBackend> MakeStorage(int shard, tern::core::Loop* loop) {
  auto storage = std::make_unique<FaultInjectingStorage>(
      loop, absl::GetFlag(FLAGS_fault_seed) + static_cast<uint64_t>(shard));
  for (absl::string_view n :
       absl::StrSplit(absl::GetFlag(FLAGS_fault_sync_fail_at), ',', absl::SkipEmpty())) {
    uint64_t nth = 0;
    if (absl::SimpleAtoi(n, &nth)) storage->Inject({.op = FaultOp::kSync, .nth = nth});
  }
  if (const double rate = absl::GetFlag(FLAGS_fault_sync_fail_rate); rate > 0) {
    storage->Inject({.op = FaultOp::kSync, .rate = rate});
  }
  if (const double rate = absl::GetFlag(FLAGS_fault_torn_write_rate); rate > 0) {
    storage->Inject({.op = FaultOp::kWrite, .rate = rate, .tear = true});
  }
  storage->set_capacity_bytes(absl::GetFlag(FLAGS_fault_capacity_bytes));
  return storage;
}

}  // namespace

int main(int argc, char** argv) {
  return tern::tools::ternd::TerndMain(argc, argv,
                                       {.program = "ternd-faults",
                                        .extra_flag_files = {"tests/tools/ternd_faults_main.cc"},
                                        .after_flags = CheckFaultFlags,
                                        .storage_factory = MakeStorage});
}
