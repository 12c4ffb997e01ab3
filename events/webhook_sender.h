// WebhookSender: posts the event journal's backlog to the operator's webhook, in order, at
// least once, on a thread of its own (all webhook traffic; mail never waits for it).
// Each POST carries up to `batch` events as a JSON array (events/event.h), over one
// keep-alive HTTP/1.1 connection (TLS for https://, verified against the CAs and the URL's
// host), signed with `X-Tern-Signature: sha256=<hex HMAC-SHA256 of the body>` when a secret
// is set. A 2xx answer moves the journal's cursor past the batch (durably); anything else
// (another status, a timeout, a refused connection, a TLS failure) retries the same batch
// after an exponential, jittered backoff (backoff_min doubling to backoff_max). Events older
// than `max_age` are given up (counted) instead of being retried forever.
//
//   events::WebhookSenderOptions options;
//   options.url = "https://hooks.example.com/tern";
//   options.secret_file = "/etc/tern/webhook.secret";
//   ASSIGN_OR_RETURN(auto sender, events::WebhookSender::Start(options, journal.get()));
//   sender->metrics().posted_events;  // for /metrics
//   sender->Stop();                   // prompt, even mid-backoff or mid-connect; before the
//   journal goes
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "events/event_journal.h"
#include "events/webhook_connection.h"
#include "events/webhook_url.h"

namespace tern::events {

struct WebhookSenderOptions {
  std::string url;  // http://host[:port]/path or https://...
  std::string
      secret_file;      // empty: unsigned; else the secret is the file without its final newline
  std::string ca_file;  // empty: the system's CAs
  size_t batch = 100;   // events per POST
  // A POST's body stays below this (beyond it the batch is cut; one event is always sent).
  size_t batch_bytes_max = size_t{4} << 20;
  absl::Duration timeout = absl::Seconds(10);  // connect, handshake, and each request
  absl::Duration backoff_min = absl::Seconds(1);
  absl::Duration backoff_max = absl::Minutes(5);
  absl::Duration max_age = absl::Hours(72);
  absl::Duration idle_poll = absl::Seconds(1);  // a check for new events without a wake-up
};

// The secret of a --webhook_secret_file: the file without its final newline; refused when
// unreadable, empty or over 4 KiB.
absl::StatusOr<std::string> ReadWebhookSecret(const std::string& path);

enum class WebhookFailure : int { kConnect = 0, kTls, kTimeout, kStatus, kProtocol, kOther };
inline constexpr int kWebhookFailureKinds = 6;
// "connect", "tls", "timeout", "status", "protocol", "other" (a metric label).
const char* WebhookFailureName(WebhookFailure failure);

struct WebhookSenderMetrics {
  uint64_t posted_batches = 0;
  uint64_t posted_events = 0;
  std::array<uint64_t, kWebhookFailureKinds> failures{};  // by WebhookFailure
  int last_status = 0;  // the last HTTP status received (0: none yet)
  uint64_t consecutive_failures = 0;
  absl::Duration backoff = absl::ZeroDuration();  // the current wait after a failure (0: none)
  uint64_t dropped_by_age = 0;
};

class WebhookSender {
 public:
  // Checks the options (URL, secret file, CA file) and starts the thread.
  static absl::StatusOr<std::unique_ptr<WebhookSender>> Start(const WebhookSenderOptions& options,
                                                              EventJournal* journal);
  ~WebhookSender();  // Stop()
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  // Interrupts whatever the thread waits for and joins it. Idempotent.
  void Stop();
  WebhookSenderMetrics metrics() const;

 private:
  // Shared with the journal's durable listener, which may outlive the sender by a moment.
  struct Wakeup {
    absl::Mutex mu;
    bool pending ABSL_GUARDED_BY(mu) = false;
    bool stopping ABSL_GUARDED_BY(mu) = false;
  };

  WebhookSender(const WebhookSenderOptions& options, EventJournal* journal);
  void Run();
  // Waits until new events are signalled (if `for_events`), stop, or `deadline`.
  void WaitUntil(absl::Time deadline, bool for_events);
  bool stopping();
  // Drops the events older than max_age from `batch`; returns how many.
  size_t DropExpired(std::vector<JournalEvent>* batch);
  absl::Status Post(const std::string& body, int* http_status);
  absl::Status Exchange(const std::string& request, int* http_status);
  void NoteFailure(const absl::Status& status, int http_status, absl::Duration backoff);

  const WebhookSenderOptions options_;
  EventJournal* const journal_;
  WebhookUrl url_;
  std::string secret_;
  SSL_CTX* tls_context_ = nullptr;
  int wake_fd_ = -1;  // an eventfd made readable by Stop
  std::shared_ptr<Wakeup> wakeup_;
  std::unique_ptr<WebhookConnection> connection_;  // the thread's own
  std::mt19937_64 random_;

  mutable absl::Mutex metrics_mu_;
  WebhookSenderMetrics metrics_ ABSL_GUARDED_BY(metrics_mu_);

  std::thread thread_;
};

}  // namespace tern::events
