// EgressConfigSlot: the egress configuration in force, replaceable while ternd runs (SIGHUP
// reads the egress flags again). Readers on other threads (the admin endpoint, the main
// thread's shaping reload) take the current one; what they hold stays valid after a
// replacement (it is shared), so nothing needs to wait for them.
//
//   EgressConfigSlot slot(*BuildEgressConfig(flags));
//   admin thread:  std::shared_ptr<const EgressConfig> now = slot.Get();   // per request
//   on SIGHUP:     slot.Set(*ReadEgressReload(args));                     // when it loads
//
// Get() takes a mutex: it is called per admin request or reload, never per message.
#pragma once

#include <memory>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "core/check.h"
#include "delivery/egress_config.h"

namespace tern::delivery {

class EgressConfigSlot {
 public:
  explicit EgressConfigSlot(std::shared_ptr<const EgressConfig> config)
      : config_(std::move(config)) {
    CHECK(config_ != nullptr);
  }

  // Never null.
  std::shared_ptr<const EgressConfig> Get() const {
    absl::MutexLock lock(&mutex_);
    return config_;
  }
  void Set(std::shared_ptr<const EgressConfig> config) {
    CHECK(config != nullptr);
    absl::MutexLock lock(&mutex_);
    config_ = std::move(config);
  }

 private:
  mutable absl::Mutex mutex_;
  std::shared_ptr<const EgressConfig> config_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace tern::delivery
