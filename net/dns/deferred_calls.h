// DeferredCalls: runs closures later on the shard's loop, never inside the caller. The
// resolver hands every result to its caller through one, so a callback never runs inside
// ResolveMx() (no re-entrance) nor inside c-ares (a callback may start new lookups or shut
// the resolver down).
//
// Closures run from a loop iteration hook; a zero-delay timer keeps the loop from sleeping
// while closures wait. The hook only holds shared state, so DeferredCalls may be destroyed
// before the loop: closures not yet run are then destroyed without being called.
//
//   DeferredCalls calls(loop);
//   calls.Post([done = std::move(done), result] mutable { done(result); });
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "core/loop.h"
#include "core/timer_wheel.h"

namespace tern::net::dns {

class DeferredCalls {
 public:
  explicit DeferredCalls(core::Loop* loop);
  ~DeferredCalls();
  DeferredCalls(const DeferredCalls&) = delete;
  DeferredCalls& operator=(const DeferredCalls&) = delete;

  // Runs `call` on a later pass of the loop (closures posted by a running closure run on
  // the next pass, so a chain of them cannot starve the loop).
  void Post(absl::AnyInvocable<void()> call);
  size_t pending() const;

 private:
  struct Shared {
    bool alive = true;
    std::vector<absl::AnyInvocable<void()>> calls;
  };
  // Fires at once so the loop does not block in its wait while closures are queued.
  class Nudge : public core::Timer {
   public:
    void OnTimer() override {}
  };
  static void RunAll(const std::shared_ptr<Shared>& shared);

  core::Loop* loop_;
  std::shared_ptr<Shared> shared_;
  Nudge nudge_;
};

}  // namespace tern::net::dns
