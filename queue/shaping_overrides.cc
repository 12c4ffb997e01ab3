// Implementation of queue/shaping_overrides.h.
#include "queue/shaping_overrides.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/check.h"
#include "queue/shaping_state_file.h"

namespace tern::queue {
namespace {

std::string Cut(absl::string_view text, size_t bytes_max) {
  return std::string(text.substr(0, bytes_max));
}

std::string TimeText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

std::string PairText(const ShapingOverride& e) {
  return absl::StrCat(e.source.empty() ? "all sources" : e.source, "->", e.scope);
}

std::string Because(const ShapingOverride& e) {
  std::string out;
  if (!e.cause.empty()) absl::StrAppend(&out, " by ", e.cause);
  if (!e.reason.empty()) absl::StrAppend(&out, ": ", e.reason);
  return out;
}

}  // namespace

absl::Status ShapingOverrides::Put(ShapingOverride entry) {
  if (entry.scope.empty() || entry.scope.size() > ShapingOverride::kKeyBytesMax ||
      entry.source.size() > ShapingOverride::kKeyBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat("shaping override: scope must be 1..",
                                                   ShapingOverride::kKeyBytesMax,
                                                   " bytes, source at most that"));
  }
  if (entry.ramp_up.has_value() && !entry.ramp_up->valid()) {
    return absl::InvalidArgumentError("shaping override: ramp-up needs 1..1000 steps over > 0");
  }
  entry.reason = Cut(entry.reason, ShapingOverride::kReasonBytesMax);
  entry.cause = Cut(entry.cause, ShapingOverride::kReasonBytesMax);
  Key key{entry.scope, entry.source, entry.kind};
  absl::MutexLock lock(&mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= kEntriesMax) {
      return absl::ResourceExhaustedError(
          absl::StrCat("shaping overrides: ", kEntriesMax, " entries live already"));
    }
    entries_.emplace(std::move(key), std::move(entry));
  } else {
    it->second = std::move(entry);
  }
  Bump();
  return absl::OkStatus();
}

absl::Status ShapingOverrides::Suspend(absl::string_view source, absl::string_view scope,
                                       absl::Time until, absl::string_view reason,
                                       absl::string_view cause, std::optional<RampUp> ramp_up) {
  ShapingOverride e;
  e.source = std::string(source);
  e.scope = std::string(scope);
  e.kind = ShapingOverride::Kind::kSuspend;
  e.until = until;
  e.ramp_up = ramp_up;
  e.reason = std::string(reason.substr(0, ShapingOverride::kReasonBytesMax));
  e.cause = std::string(cause.substr(0, ShapingOverride::kReasonBytesMax));
  return Put(std::move(e));
}

absl::Status ShapingOverrides::Override(absl::string_view source, absl::string_view scope,
                                        const ShapingOptions& options, absl::Time until,
                                        absl::string_view reason, absl::string_view cause,
                                        std::optional<RampUp> ramp_up) {
  ShapingOverride e;
  e.source = std::string(source);
  e.scope = std::string(scope);
  e.kind = ShapingOverride::Kind::kSet;
  e.until = until;
  e.options = options;
  e.ramp_up = ramp_up;
  e.reason = std::string(reason.substr(0, ShapingOverride::kReasonBytesMax));
  e.cause = std::string(cause.substr(0, ShapingOverride::kReasonBytesMax));
  return Put(std::move(e));
}

bool ShapingOverrides::Resume(absl::string_view source, absl::string_view scope) {
  absl::MutexLock lock(&mutex_);
  size_t erased = 0;
  for (auto kind : {ShapingOverride::Kind::kSuspend, ShapingOverride::Kind::kSet}) {
    erased += entries_.erase(Key{std::string(scope), std::string(source), kind});
  }
  if (erased > 0) Bump();
  return erased > 0;
}

EffectiveShaping ShapingOverrides::Effective(absl::string_view source,
                                             const std::vector<std::string>& scopes, absl::Time now,
                                             const ShapingOptions& configured) const {
  EffectiveShaping out;
  ShapingOptions merged = configured;
  std::vector<std::string> whys;
  // The slowest ramp step in force, as a fraction step/steps.
  uint32_t ramp_step = 1;
  uint32_t ramp_steps = 1;
  bool ramping = false;
  std::vector<absl::string_view> sources = {""};
  if (!source.empty()) sources.push_back(source);

  absl::MutexLock lock(&mutex_);
  for (const std::string& scope : scopes) {
    for (absl::string_view src : sources) {
      for (auto kind : {ShapingOverride::Kind::kSuspend, ShapingOverride::Kind::kSet}) {
        auto it = entries_.find(Key{scope, std::string(src), kind});
        if (it == entries_.end()) continue;
        const ShapingOverride& e = it->second;
        if (now < e.until) {
          out.next_change = std::min(out.next_change, e.until);
          if (kind == ShapingOverride::Kind::kSuspend) {
            out.suspended = true;
            out.until = std::max(out.until, e.until);
            whys.push_back(
                absl::StrCat(PairText(e), " suspended until ", TimeText(e.until), Because(e)));
          } else {
            merged.MergeFrom(e.options);
            whys.push_back(absl::StrCat(PairText(e), " limits overridden until ", TimeText(e.until),
                                        Because(e)));
          }
          continue;
        }
        if (!e.ramp_up.has_value() || now >= e.end()) continue;
        const RampUp& ramp = *e.ramp_up;
        const uint32_t step = ramp.StepAt(now - e.until);
        if (step >= ramp.steps) continue;  // the last step is the configured rate
        out.next_change =
            std::min(out.next_change, e.until + ramp.step_length() * static_cast<int64_t>(step));
        if (!ramping || uint64_t{step} * ramp_steps < uint64_t{ramp_step} * ramp.steps) {
          ramp_step = step;
          ramp_steps = ramp.steps;
          ramping = true;
        }
        whys.push_back(absl::StrCat(PairText(e), " ramping up after ", KindName(kind), ", step ",
                                    step, "/", ramp.steps, Because(e)));
      }
    }
  }
  out.options = ramping ? RampUp::Scale(merged, ramp_step, ramp_steps) : std::move(merged);
  out.why = absl::StrJoin(whys, "; ");
  return out;
}

EffectiveShaping ShapingOverrides::Effective(absl::string_view source, absl::string_view scope,
                                             absl::Time now,
                                             const ShapingOptions& configured) const {
  return Effective(source, std::vector<std::string>{std::string(scope)}, now, configured);
}

std::vector<ShapingOverride> ShapingOverrides::List(absl::Time now) const {
  std::vector<ShapingOverride> out;
  absl::MutexLock lock(&mutex_);
  for (const auto& [key, entry] : entries_) {
    if (entry.end() > now) out.push_back(entry);
  }
  return out;
}

size_t ShapingOverrides::Expire(absl::Time now) {
  absl::MutexLock lock(&mutex_);
  const size_t erased =
      std::erase_if(entries_, [now](const auto& item) { return item.second.end() <= now; });
  if (erased > 0) Bump();
  return erased;
}

size_t ShapingOverrides::size() const {
  absl::MutexLock lock(&mutex_);
  return entries_.size();
}

absl::Status ShapingOverrides::SaveTo(const std::string& path, absl::Time now) const {
  return SaveShapingState(path, List(now));
}

absl::Status ShapingOverrides::LoadFrom(const std::string& path, absl::Time now) {
  absl::StatusOr<std::vector<ShapingOverride>> loaded = LoadShapingState(path, now);
  if (!loaded.ok()) return loaded.status();
  CHECK_LE(loaded->size(), kShapingStateEntriesMax);
  static_assert(kShapingStateEntriesMax <= kEntriesMax);
  absl::MutexLock lock(&mutex_);
  entries_.clear();
  for (ShapingOverride& entry : *loaded) {
    Key key{entry.scope, entry.source, entry.kind};
    entries_.insert_or_assign(std::move(key), std::move(entry));
  }
  Bump();
  return absl::OkStatus();
}

}  // namespace tern::queue
