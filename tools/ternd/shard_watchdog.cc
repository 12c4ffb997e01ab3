// Implementation of tools/ternd/shard_watchdog.h.
#include "tools/ternd/shard_watchdog.h"

#include <algorithm>
#include <optional>

#include "core/log.h"

namespace tern::tools::ternd {

using queue::ShardView;

ShardWatchdog::ShardWatchdog(const std::vector<std::unique_ptr<Shard>>* shards,
                             const core::ServiceNotifier* notifier)
    : shards_(shards), notifier_(notifier) {}

ShardWatchdog::~ShardWatchdog() { Stop(); }

void ShardWatchdog::Start() {
  const absl::Duration interval = notifier_->watchdog_interval();
  if (!notifier_->enabled() || interval <= absl::ZeroDuration() || thread_.joinable()) return;
  TERN_LOG(kInfo, "systemd watchdog: %s, pinged every %s while every shard answers",
           absl::FormatDuration(interval), absl::FormatDuration(interval / 2));
  thread_ = std::thread([this, interval] { Run(interval / 2); });
}

void ShardWatchdog::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

bool ShardWatchdog::ShardsAlive(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (const std::unique_ptr<Shard>& shard : *shards_) {
    std::optional<bool> answer = shard->Ask<bool>(
        [](const ShardView&, absl::AnyInvocable<void(bool)> reply) { reply(true); },
        std::max(deadline - absl::Now(), absl::ZeroDuration()));
    if (!answer.has_value()) {
      TERN_LOG(kWarning, "systemd watchdog: shard %d did not answer within %s, no ping",
               shard->id(), absl::FormatDuration(timeout));
      return false;
    }
  }
  return true;
}

void ShardWatchdog::Run(absl::Duration period) {
  // Bounded by Stop(): each round waits at most `period` for the shards, then for the next.
  for (;;) {
    const absl::Time round_start = absl::Now();
    if (ShardsAlive(period)) {
      absl::Status sent = notifier_->Notify("WATCHDOG=1");
      if (!sent.ok()) TERN_LOG(kWarning, "systemd watchdog: %s", sent.message());
    }
    absl::MutexLock lock(&mutex_);
    if (mutex_.AwaitWithDeadline(absl::Condition(&stop_), round_start + period)) return;
  }
}

}  // namespace tern::tools::ternd
