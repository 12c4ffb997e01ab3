// ShardWatchdog: pings systemd's watchdog (WATCHDOG=1) every half WATCHDOG_USEC, but only
// while every shard's loop still answers: each round posts a no-op to every shard's
// mailbox and waits for the round trip. A shard stuck in a blocking call or a busy loop
// withholds the ping, and systemd restarts ternd (Restart=on-failure).
//
//   ShardWatchdog watchdog(&shards, &notifier);   // after every shard is ready
//   watchdog.Start();                              // no-op without WATCHDOG_USEC
//   ...
//   watchdog.Stop();                               // before the shards stop
#pragma once

#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/service_notifier.h"
#include "tools/ternd/shard.h"

namespace tern::tools::ternd {

class ShardWatchdog {
 public:
  // Both must outlive the watchdog.
  ShardWatchdog(const std::vector<std::unique_ptr<Shard>>* shards,
                const core::ServiceNotifier* notifier);
  ~ShardWatchdog();  // Stop()s
  ShardWatchdog(const ShardWatchdog&) = delete;
  ShardWatchdog& operator=(const ShardWatchdog&) = delete;

  // Starts the pinging thread when the service manager asked for a watchdog.
  void Start();
  // Stops and joins it; idempotent.
  void Stop();

 private:
  // True when every shard answered a mailbox round trip within `timeout`.
  bool ShardsAlive(absl::Duration timeout);
  void Run(absl::Duration period);

  const std::vector<std::unique_ptr<Shard>>* shards_;
  const core::ServiceNotifier* notifier_;
  std::thread thread_;
  absl::Mutex mutex_;
  bool stop_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace tern::tools::ternd
