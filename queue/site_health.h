// SiteHealth: whether a site (a lane's destination: the MX set of a domain, or a route's
// host) currently takes connections, shared by every shard that delivers to it. Tern's
// answer to Postfix's "dead destination" and KumoMTA's
// consecutive_connection_failures_before_delay, on by default:
//
//   healthy    attempts open as the lane's limits allow
//   untested   nothing got through yet (new site, or since a failure): at most
//              kUntestedAttemptsMax attempts at once for the whole process, so a dead
//              site costs a handful of connections, not one per queued message
//   delayed    after `consecutive_connection_failures_before_delay` failed attempts in a
//              row (refused, timeout, 421/554 greeting, TLS failure, DNS temporary error):
//              no attempt until the delay ends; the delay starts at
//              `connection_failure_delay` and doubles per failed probe up to
//              `connection_failure_delay_max`. Then one probe attempt (one for all shards)
//              tests recovery: success makes the site healthy, failure delays it again.
//
//   std::shared_ptr<SiteHealth> health = table.Get("mx:example.com:25");
//   SiteHealth::Admission a = health->Admit(now, shard);    // before each connect attempt
//   if (a.verdict == SiteHealth::Verdict::kWait) { ... a.until ... }
//   health->NoteAttemptEnded(now, /*ok=*/false, options, "mx1[192.0.2.1:25]: 421 ...");
//
// A shard refused because the untested site's few attempts run elsewhere is told (the
// table's wake function, outside the lock) when one of them ends: else it would look again
// only at its maintenance tick while the shard holding the attempts, which nobody waits on,
// delivers alone.
//
// Thread-safe: one small mutex, taken per connect attempt (never per message).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/shard_count.h"
#include "queue/shaping_options.h"

namespace tern::queue {

class SiteHealth {
 public:
  // Attempts at once while a site is untested (all shards together).
  static constexpr uint32_t kUntestedAttemptsMax = 2;
  // A probe whose end was never reported (its shard stopped) is given up after this long.
  static constexpr absl::Duration kProbeTimeout = absl::Minutes(10);

  enum class Verdict { kOpen, kWait };
  struct Admission {
    Verdict verdict = Verdict::kOpen;
    absl::Time until = absl::InfinitePast();  // kWait: when to ask again (or InfiniteFuture
                                              // while another attempt decides)
    bool delayed = false;                     // kWait because the site is delayed
  };

  // Tells a shard that an attempt of the site ended (it may be admitted now).
  using Wake = std::function<void(uint32_t shard)>;
  // `wake` may be null (nobody is told; the shards look again at their own pace).
  explicit SiteHealth(std::string key, std::shared_ptr<const Wake> wake = nullptr)
      : key_(std::move(key)), wake_(std::move(wake)) {}

  // Before a connect attempt by `shard`. kOpen counts the attempt as started:
  // NoteAttemptEnded or NoteAttemptAbandoned must follow (once) whatever happens. kWait
  // while untested attempts run: `shard` is told when one ends.
  Admission Admit(absl::Time now, uint32_t shard);
  // The attempt ended: `ok` when it got a ready SMTP session. A failure counts toward the
  // delay (with `why`, shown by `ternctl shaping` and in deferrals). True when this failure
  // delayed the site (it was not delayed before).
  bool NoteAttemptEnded(absl::Time now, bool ok, const ShapingOptions& options,
                        absl::string_view why);
  // The attempt ended without testing the site (every address at its connection limit,
  // or delivery stopping): frees its slot, counts nothing.
  void NoteAttemptAbandoned();

  struct Snapshot {
    std::string key;
    bool delayed = false;
    absl::Time delayed_until = absl::InfinitePast();
    uint32_t consecutive_failures = 0;
    absl::Duration next_delay;
    std::string last_failure;
    uint64_t delays = 0;  // times the site was delayed since start
  };
  Snapshot Read() const;
  const std::string& key() const { return key_; }

 private:
  // NoteAttemptEnded under the lock; the shards to tell go to `waiters`.
  bool RecordAttemptEnd(absl::Time now, bool ok, const ShapingOptions& options,
                        absl::string_view why, absl::InlinedVector<uint32_t, 2>* waiters);
  // Tells the shards refused while untested that an attempt ended.
  void WakeWaiters(absl::InlinedVector<uint32_t, 2> waiters) const;

  const std::string key_;
  const std::shared_ptr<const Wake> wake_;
  mutable absl::Mutex mutex_;
  absl::InlinedVector<uint32_t, 2> waiters_ ABSL_GUARDED_BY(mutex_);  // no repeats
  bool tested_ ABSL_GUARDED_BY(mutex_) = false;  // an attempt got through since the last failure
  uint32_t attempts_running_ ABSL_GUARDED_BY(mutex_) = 0;
  absl::Time oldest_running_ ABSL_GUARDED_BY(mutex_) = absl::InfinitePast();
  uint32_t consecutive_failures_ ABSL_GUARDED_BY(mutex_) = 0;
  absl::Time delayed_until_ ABSL_GUARDED_BY(mutex_) = absl::InfinitePast();
  absl::Duration next_delay_ ABSL_GUARDED_BY(mutex_) = absl::ZeroDuration();
  std::string last_failure_ ABSL_GUARDED_BY(mutex_);
  uint64_t delays_ ABSL_GUARDED_BY(mutex_) = 0;
};

// The process-wide map from a site key to its health, shared by all shards (made by the
// composition root). Get() locks: call it when a lane is made, not per attempt.
class SiteHealthTable {
 public:
  static constexpr size_t kSitesMax = 1'000'000;
  // How the sites' waiting shards are told (the composition root's, before the shards
  // start: sites made before keep none).
  void SetWake(SiteHealth::Wake wake);
  std::shared_ptr<SiteHealth> Get(absl::string_view key);
  // Sites that are delayed or have failures, for `ternctl shaping` and metrics.
  std::vector<SiteHealth::Snapshot> Troubled() const;
  // Drops healthy sites nobody holds; returns how many.
  size_t Sweep();
  size_t size() const;

 private:
  mutable absl::Mutex mutex_;
  std::shared_ptr<const SiteHealth::Wake> wake_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<std::string, std::shared_ptr<SiteHealth>> sites_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace tern::queue
