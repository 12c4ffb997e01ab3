// Implementation of net/dns/deferred_calls.h.
#include "net/dns/deferred_calls.h"

#include <utility>

namespace tern::net::dns {

DeferredCalls::DeferredCalls(core::Loop* loop) : loop_(loop), shared_(std::make_shared<Shared>()) {
  loop_->AddIterationHook([shared = shared_] { RunAll(shared); });
}

DeferredCalls::~DeferredCalls() {
  shared_->alive = false;
  shared_->calls.clear();
}

void DeferredCalls::Post(absl::AnyInvocable<void()> call) {
  shared_->calls.push_back(std::move(call));
  if (!nudge_.armed()) loop_->timers().Arm(&nudge_, loop_->now());
}

size_t DeferredCalls::pending() const { return shared_->calls.size(); }

void DeferredCalls::RunAll(const std::shared_ptr<Shared>& shared) {
  if (shared->calls.empty()) return;
  std::vector<absl::AnyInvocable<void()>> batch;
  batch.swap(shared->calls);
  for (auto& call : batch) {
    // A closure may destroy the owner: the rest of the batch is then dropped uncalled.
    if (!shared->alive) return;
    call();
  }
}

}  // namespace tern::net::dns
