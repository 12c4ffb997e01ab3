// FaultPlan parsing and FaultInjector decisions (sink_faults.h).
#include "tools/tern_bench/sink_faults.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace tern::tools::tern_bench {
namespace {

constexpr std::array<absl::string_view, kFaultStageCount> kStageNames = {
    "connect", "ehlo", "mail", "rcpt", "data", "dot", "quit"};
constexpr std::array<absl::string_view, kFaultActionCount> kActionNames = {
    "none", "tempfail", "permfail", "disconnect"};

// Calls `take(stage, value)` for each STAGE:VALUE of `spec`; the first error wins.
template <typename Take>
absl::Status ForEachStageValue(absl::string_view flag, absl::string_view spec, Take take) {
  std::array<bool, kFaultStageCount> seen{};
  for (absl::string_view item : absl::StrSplit(spec, ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    const size_t colon = item.find(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, ": \"", item, "\" is not STAGE:VALUE"));
    }
    const absl::string_view name = absl::StripAsciiWhitespace(item.substr(0, colon));
    const std::optional<FaultStage> stage = ParseFaultStage(name);
    if (!stage.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, ": unknown stage \"", name,
                       "\" (stages: ", absl::StrJoin(kStageNames, ", "), ")"));
    }
    bool& stage_seen = seen[static_cast<size_t>(*stage)];
    if (stage_seen) {
      return absl::InvalidArgumentError(absl::StrCat("--", flag, ": stage ", name, " given twice"));
    }
    stage_seen = true;
    absl::Status status = take(*stage, absl::StripAsciiWhitespace(item.substr(colon + 1)));
    if (!status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", status.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status ParseRates(absl::string_view flag, absl::string_view spec,
                        std::array<StageFaults, kFaultStageCount>* stages,
                        double StageFaults::*rate) {
  return ForEachStageValue(flag, spec, [&](FaultStage stage, absl::string_view value) {
    double parsed = 0;
    if (!absl::SimpleAtod(value, &parsed) || !(parsed >= 0 && parsed <= 1)) {
      return absl::InvalidArgumentError(absl::StrCat("rate \"", value, "\" for ",
                                                     FaultStageName(stage),
                                                     " is not a probability between 0 and 1"));
    }
    (*stages)[static_cast<size_t>(stage)].*rate = parsed;
    return absl::OkStatus();
  });
}

absl::Status ParseDelays(absl::string_view spec,
                         std::array<StageFaults, kFaultStageCount>* stages) {
  return ForEachStageValue("delay", spec, [&](FaultStage stage, absl::string_view value) {
    absl::Duration parsed;
    if (!absl::ParseDuration(value, &parsed) || parsed < absl::ZeroDuration() ||
        parsed > kFaultDelayMax) {
      return absl::InvalidArgumentError(
          absl::StrCat("delay \"", value, "\" for ", FaultStageName(stage),
                       " is not a duration like 20ms or 1.5s between 0 and ",
                       absl::FormatDuration(kFaultDelayMax)));
    }
    (*stages)[static_cast<size_t>(stage)].delay = parsed;
    return absl::OkStatus();
  });
}

}  // namespace

absl::string_view FaultStageName(FaultStage stage) {
  return kStageNames[static_cast<size_t>(stage)];
}

absl::string_view FaultActionName(FaultAction action) {
  return kActionNames[static_cast<size_t>(action)];
}

std::optional<FaultStage> ParseFaultStage(absl::string_view name) {
  for (size_t i = 0; i < kFaultStageCount; ++i) {
    if (absl::EqualsIgnoreCase(name, kStageNames[i])) return static_cast<FaultStage>(i);
  }
  return std::nullopt;
}

absl::StatusOr<FaultPlan> FaultPlan::Parse(const FaultFlags& flags) {
  FaultPlan plan;
  absl::Status status =
      ParseRates("tempfail_rate", flags.tempfail, &plan.stages_, &StageFaults::tempfail);
  if (status.ok()) {
    status = ParseRates("permfail_rate", flags.permfail, &plan.stages_, &StageFaults::permfail);
  }
  if (status.ok()) {
    status =
        ParseRates("disconnect_rate", flags.disconnect, &plan.stages_, &StageFaults::disconnect);
  }
  if (status.ok()) status = ParseDelays(flags.delay, &plan.stages_);
  if (!status.ok()) return status;
  for (size_t i = 0; i < kFaultStageCount; ++i) {
    const StageFaults& s = plan.stages_[i];
    // One draw decides between the kinds, so together they cannot exceed certainty.
    if (s.tempfail + s.permfail + s.disconnect > 1.0 + 1e-9) {
      return absl::InvalidArgumentError(
          absl::StrCat("the fault rates of stage ", kStageNames[i],
                       " add up to more than 1 (tempfail + permfail + disconnect = ",
                       s.tempfail + s.permfail + s.disconnect, ")"));
    }
  }
  return plan;
}

bool FaultPlan::empty() const {
  for (const StageFaults& s : stages_) {
    if (s.random() || s.delay > absl::ZeroDuration()) return false;
  }
  return true;
}

std::string FaultPlan::Describe() const {
  std::vector<std::string> kinds;
  auto describe = [&](absl::string_view kind, auto value_of) {
    std::vector<std::string> items;
    for (size_t i = 0; i < kFaultStageCount; ++i) {
      std::string value = value_of(stages_[i]);
      if (!value.empty()) items.push_back(absl::StrCat(kStageNames[i], ":", value));
    }
    if (!items.empty()) kinds.push_back(absl::StrCat(kind, " ", absl::StrJoin(items, ",")));
  };
  auto rate = [](double r) { return r > 0 ? absl::StrCat(r) : std::string(); };
  describe("tempfail", [&](const StageFaults& s) { return rate(s.tempfail); });
  describe("permfail", [&](const StageFaults& s) { return rate(s.permfail); });
  describe("disconnect", [&](const StageFaults& s) { return rate(s.disconnect); });
  describe("delay", [](const StageFaults& s) {
    return s.delay > absl::ZeroDuration() ? absl::FormatDuration(s.delay) : std::string();
  });
  return kinds.empty() ? "none" : absl::StrJoin(kinds, "; ");
}

uint64_t FaultInjector::NextRandom() {
  // splitmix64: tiny state, good enough to spread a few decisions per command.
  uint64_t x = (state_ += 0x9e3779b97f4a7c15ull);
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

FaultDecision FaultInjector::Decide(FaultStage stage) {
  FaultDecision decision;
  if (plan_ == nullptr) return decision;
  const StageFaults& s = plan_->stage(stage);
  decision.delay = s.delay;
  if (!s.random()) return decision;
  // 53 random bits as a double in [0, 1): a rate of 1 always fires, 0 never does.
  const double u = static_cast<double>(NextRandom() >> 11) * 0x1.0p-53;
  if (u < s.disconnect) {
    decision.action = FaultAction::kDisconnect;
  } else if (u < s.disconnect + s.permfail) {
    decision.action = FaultAction::kPermfail;
  } else if (u < s.disconnect + s.permfail + s.tempfail) {
    decision.action = FaultAction::kTempfail;
  }
  return decision;
}

uint64_t MixFaultSeed(uint64_t seed, uint64_t thread, uint64_t stream) {
  uint64_t state = seed;
  for (uint64_t word : {thread, stream}) {
    state ^= word + 0x9e3779b97f4a7c15ull + (state << 6) + (state >> 2);
    uint64_t x = state;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    state = x ^ (x >> 31);
  }
  return state;
}

}  // namespace tern::tools::tern_bench
