// TlsContextSlot: the server context that new TLS sessions use now, replaceable while
// ternd runs (SIGHUP reloads the certificate and key). Sessions already established keep
// the context they started with (an SSL holds a reference to its SSL_CTX).
//
//   TlsContextSlot slot(*TlsContext::CreateServer(options));
//   shard threads:  std::shared_ptr<const TlsContext> now = slot.Get();   // per handshake
//   on SIGHUP:      slot.Set(*TlsContext::CreateServer(options));        // when it loads
//
// Get() takes a mutex: it is called once per TLS handshake, which costs far more.
#pragma once

#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "net/tls/tls_context.h"

namespace tern::net::tls {

class TlsContextSlot {
 public:
  explicit TlsContextSlot(std::shared_ptr<const TlsContext> context)
      : context_(std::move(context)) {}

  std::shared_ptr<const TlsContext> Get() const {
    absl::MutexLock lock(&mutex_);
    return context_;
  }
  void Set(std::shared_ptr<const TlsContext> context) {
    absl::MutexLock lock(&mutex_);
    context_ = std::move(context);
  }

 private:
  mutable absl::Mutex mutex_;
  std::shared_ptr<const TlsContext> context_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace tern::net::tls
