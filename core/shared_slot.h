// SharedSlot<T>: one immutable configuration object in force, replaceable while ternd runs
// (SIGHUP reads the flags again). Readers on other threads (the admin endpoint, the main
// thread's reloads) take the current one; what they hold stays valid after a replacement
// (it is shared), so nothing needs to wait for them.
//
//   core::SharedSlot<EgressConfig> slot(*BuildEgressConfig(flags));
//   admin thread:  std::shared_ptr<const EgressConfig> now = slot.Get();   // per request
//   on SIGHUP:     slot.Set(*ReadEgressReload(args));                     // when it loads
//
// Get() takes a mutex: it is for admin requests and reloads, never per message (the
// shards are handed their own copy of the pointer instead).
#pragma once

#include <memory>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "core/check.h"

namespace tern::core {

template <typename T>
class SharedSlot {
 public:
  explicit SharedSlot(std::shared_ptr<const T> value) : value_(std::move(value)) {
    CHECK(value_ != nullptr);
  }
  SharedSlot(const SharedSlot&) = delete;
  SharedSlot& operator=(const SharedSlot&) = delete;

  // Never null.
  std::shared_ptr<const T> Get() const {
    absl::MutexLock lock(&mutex_);
    return value_;
  }
  void Set(std::shared_ptr<const T> value) {
    CHECK(value != nullptr);
    absl::MutexLock lock(&mutex_);
    value_ = std::move(value);
  }

 private:
  mutable absl::Mutex mutex_;
  std::shared_ptr<const T> value_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace tern::core
