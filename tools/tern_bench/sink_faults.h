// Fault injection for `tern-bench sink`: which replies to fail, drop or hold back, so that
// tests can watch a relay (or tern-bench source) cope with a misbehaving peer.
//
// A FaultPlan comes from the command line, one comma list of STAGE:VALUE per kind:
//   --tempfail_rate=rcpt:0.1,dot:0.05   reply 451 4.3.0 (421 4.3.2 and close at connect)
//   --permfail_rate=mail:0.01           reply 550 5.7.1 (554 5.3.2 and close at connect)
//   --disconnect_rate=dot:0.5           close the connection instead of replying
//   --delay=rcpt:5ms,dot:20ms           hold that reply this long (absl duration syntax)
// STAGE is the reply it applies to: connect (the greeting), ehlo (EHLO/HELO), mail, rcpt,
// data (DATA's 354, or the reply to a BDAT chunk that is not LAST), dot (the end-of-data
// reply, after the final dot or BDAT LAST), quit.
//
// A FaultInjector draws the decisions, one per reply, from its own seeded generator: the
// same plan and seed give the same decisions for the same sequence of replies, so a
// session's faults can be replayed (the sink seeds one injector per connection).
//
//   ASSIGN_OR_RETURN(FaultPlan plan, FaultPlan::Parse({.tempfail = "rcpt:0.1"}));
//   FaultInjector faults(&plan, /*seed=*/42);
//   FaultDecision d = faults.Decide(FaultStage::kRcpt);
//   if (d.action == FaultAction::kTempfail) ... after d.delay ...
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tern::tools::tern_bench {

enum class FaultStage : uint8_t { kConnect, kEhlo, kMail, kRcpt, kData, kDot, kQuit };
inline constexpr size_t kFaultStageCount = 7;

// What happens to one reply. The order of the random kinds is the order of kFaultKindNames.
enum class FaultAction : uint8_t { kNone, kTempfail, kPermfail, kDisconnect };
inline constexpr size_t kFaultActionCount = 4;

// "connect", "ehlo", ...; "tempfail", "permfail", "disconnect" ("none" for kNone).
absl::string_view FaultStageName(FaultStage stage);
absl::string_view FaultActionName(FaultAction action);
std::optional<FaultStage> ParseFaultStage(absl::string_view name);

// Longest --delay accepted: a held reply must not outlive any sane client timeout.
inline constexpr absl::Duration kFaultDelayMax = absl::Minutes(10);

// The faults of one stage. Rates are probabilities per reply; their sum is at most 1.
struct StageFaults {
  double tempfail = 0;
  double permfail = 0;
  double disconnect = 0;
  absl::Duration delay = absl::ZeroDuration();
  bool random() const { return tempfail > 0 || permfail > 0 || disconnect > 0; }
};

// The flag values, as given.
struct FaultFlags {
  absl::string_view tempfail;
  absl::string_view permfail;
  absl::string_view disconnect;
  absl::string_view delay;
};

class FaultPlan {
 public:
  // InvalidArgument, naming the flag and the bad item, for an unknown stage, a stage listed
  // twice in one flag, a rate outside 0..1, rates of one stage summing over 1, or a delay
  // that is not an absl duration in 0..kFaultDelayMax.
  static absl::StatusOr<FaultPlan> Parse(const FaultFlags& flags);

  const StageFaults& stage(FaultStage stage) const { return stages_[static_cast<size_t>(stage)]; }
  // True when no stage has a rate or a delay.
  bool empty() const;
  // "tempfail rcpt:0.1; delay dot:20ms", or "none".
  std::string Describe() const;

 private:
  std::array<StageFaults, kFaultStageCount> stages_{};
};

struct FaultDecision {
  FaultAction action = FaultAction::kNone;
  absl::Duration delay = absl::ZeroDuration();
};

class FaultInjector {
 public:
  // `plan` null: no faults. `plan` must outlive the injector.
  FaultInjector(const FaultPlan* plan, uint64_t seed) : plan_(plan), state_(seed) {}

  // The fate of the next reply of `stage`. Draws a random number only for a stage with a
  // rate, so stages without one do not shift the sequence of the others.
  FaultDecision Decide(FaultStage stage);

 private:
  uint64_t NextRandom();

  const FaultPlan* plan_;
  uint64_t state_;
};

// A well-mixed seed for injector number `stream` of thread `thread` under the run's seed.
uint64_t MixFaultSeed(uint64_t seed, uint64_t thread, uint64_t stream);

}  // namespace tern::tools::tern_bench
