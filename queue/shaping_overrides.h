// ShapingOverrides: the live reactions to remote replies and operators, shared by all
// shards: per (egress source, scope key) a suspension until a moment, and/or a `set`
// override (shaping options laid over the configured ones) until a moment, each followed by
// an optional ramp-up (queue/ramp_up.h) in which the configured rates come back in steps.
// A source of "" means every source. Effective() tells a lane what applies now; List() is
// `ternctl shaping`; SaveTo/LoadFrom keep the state across restarts (queue/
// shaping_state_file.h: absolute times, so the time left is kept).
//
// Thread-safe under one mutex: it is written on a matching reply or an operator command and
// read when a lane (re)computes its limits. Lanes need not read it per message: version()
// changes with every write, and Effective() says when its answer changes next (next_change),
// so a lane re-reads only when either happened.
//
//   ShapingOverrides overrides;
//   overrides.Suspend("ip2", "provider:google", now + absl::Minutes(30),
//                     "421 4.7.28 unusual rate", "provider.google.automation[0]",
//                     RampUp{4, absl::Hours(1)});
//   EffectiveShaping e = overrides.Effective("ip2", {"provider:google", "site:..."}, now,
//                                            configured);
//   if (e.suspended) { ... wait until e.until ... } else { ... use e.options ... }
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "queue/shaping_override.h"

namespace tern::queue {

struct EffectiveShaping {
  bool suspended = false;
  absl::Time until = absl::InfinitePast();  // suspended: when the suspension ends
  ShapingOptions options;                   // configured, with `set`s laid over, ramp applied
  std::string why;                          // "" when nothing applies; else what and why
  // When this answer may change next (a suspension or set ends, a ramp step); infinite
  // future when nothing applies.
  absl::Time next_change = absl::InfiniteFuture();
};

class ShapingOverrides {
 public:
  static constexpr size_t kEntriesMax = 100'000;

  // A suspension of `source` (or every source: "") towards `scope` until `until`, replacing
  // one the pair had. ResourceExhausted when kEntriesMax entries are live.
  absl::Status Suspend(absl::string_view source, absl::string_view scope, absl::Time until,
                       absl::string_view reason, absl::string_view cause,
                       std::optional<RampUp> ramp_up = std::nullopt);
  // Shaping options laid over the configured ones until `until`, replacing a `set` the pair
  // had. ResourceExhausted when full.
  absl::Status Override(absl::string_view source, absl::string_view scope,
                        const ShapingOptions& options, absl::Time until, absl::string_view reason,
                        absl::string_view cause, std::optional<RampUp> ramp_up = std::nullopt);
  // Ends the pair's suspension and `set` at once, without ramp-up; false if it had none.
  bool Resume(absl::string_view source, absl::string_view scope);

  // What applies at `now` to `source` sending through `scopes` (a lane's scope keys, least
  // specific first): entries for (source, scope) and ("", scope). Suspended if any is;
  // `set`s laid over `configured` in the order of `scopes`; while ramps run, the slowest
  // step scales the result.
  EffectiveShaping Effective(absl::string_view source, const std::vector<std::string>& scopes,
                             absl::Time now, const ShapingOptions& configured) const;
  EffectiveShaping Effective(absl::string_view source, absl::string_view scope, absl::Time now,
                             const ShapingOptions& configured) const;

  // Every entry whose end() is after `now`, sorted by scope, source, kind.
  std::vector<ShapingOverride> List(absl::Time now) const;
  // Forgets the entries that ended at `now`; returns how many.
  size_t Expire(absl::Time now);
  size_t size() const;
  // Changes with every Suspend, Override, Resume, Expire that removed something, LoadFrom.
  uint64_t version() const { return version_.load(std::memory_order_acquire); }

  // The live entries to `path`, atomically (see queue/shaping_state_file.h).
  absl::Status SaveTo(const std::string& path, absl::Time now) const;
  // Replaces every entry by the file's (those not ended at `now`). A missing file is an
  // empty state; a corrupt one an error naming file and line, and nothing changes.
  absl::Status LoadFrom(const std::string& path, absl::Time now);

 private:
  using Key = std::tuple<std::string, std::string, ShapingOverride::Kind>;  // scope, source, kind
  absl::Status Put(ShapingOverride entry);
  void Bump() { version_.fetch_add(1, std::memory_order_acq_rel); }

  mutable absl::Mutex mutex_;
  std::map<Key, ShapingOverride> entries_ ABSL_GUARDED_BY(mutex_);
  std::atomic<uint64_t> version_{0};
};

}  // namespace tern::queue
