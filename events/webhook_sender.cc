// The webhook sender's thread: read a batch, post it, acknowledge or back off
// (events/webhook_sender.h).
#include "events/webhook_sender.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "core/log.h"
#include "core/status_macros.h"
#include "events/http_response_parser.h"

namespace tern::events {
namespace {

constexpr size_t kSecretBytesMax = 4096;

}  // namespace

absl::StatusOr<std::string> ReadWebhookSecret(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("webhook secret file ", path, ": ", std::strerror(errno)));
  }
  std::string secret(kSecretBytesMax + 1, '\0');
  ssize_t n = ::read(fd, secret.data(), secret.size());
  int err = errno;
  ::close(fd);
  if (n < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("webhook secret file ", path, ": ", std::strerror(err)));
  }
  if (static_cast<size_t>(n) > kSecretBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat("webhook secret file ", path, ": over 4 KiB"));
  }
  secret.resize(static_cast<size_t>(n));
  if (!secret.empty() && secret.back() == '\n') secret.pop_back();
  if (!secret.empty() && secret.back() == '\r') secret.pop_back();
  if (secret.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("webhook secret file ", path, " is empty"));
  }
  return secret;
}

namespace {

std::string Signature(const std::string& secret, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &length);
  return absl::StrCat("sha256=", absl::BytesToHexString(absl::string_view(
                                     reinterpret_cast<const char*>(mac), length)));
}

WebhookFailure Classify(const absl::Status& status) {
  if (absl::IsDeadlineExceeded(status)) return WebhookFailure::kTimeout;
  if (absl::IsUnauthenticated(status)) return WebhookFailure::kTls;
  if (absl::IsFailedPrecondition(status)) return WebhookFailure::kStatus;
  if (absl::IsDataLoss(status)) return WebhookFailure::kProtocol;
  // WebhookConnection::Connect's own failures (resolving, socket, connect).
  if (absl::IsUnavailable(status) && (absl::StartsWith(status.message(), "webhook: connect ") ||
                                      absl::StartsWith(status.message(), "webhook: resolving ") ||
                                      absl::StartsWith(status.message(), "webhook: socket") ||
                                      absl::StartsWith(status.message(), "webhook: no address"))) {
    return WebhookFailure::kConnect;
  }
  return WebhookFailure::kOther;
}

// An upper bound of an event's JSON size: every byte of its text may become a \u00XX escape.
size_t JsonBytesBound(const Event& event) {
  size_t text = event.event_id.size() + event.message_id.size() + event.sender.size() +
                event.recipient.size() + event.bounce_class.size() + event.reply.size() +
                event.destination.size() + event.egress_source.size() + event.egress_pool.size() +
                event.metadata.size();
  return 512 + 6 * text;
}

// Keeps the events whose JSON surely fits in `bytes_max` (the first one always).
void TrimToBodyBound(std::vector<JournalEvent>* batch, size_t bytes_max) {
  size_t bytes = 0;
  for (size_t i = 0; i < batch->size(); ++i) {
    bytes += JsonBytesBound((*batch)[i].event);
    if (i > 0 && bytes > bytes_max) {
      batch->resize(i);  // the rest is read again for the next post
      return;
    }
  }
}

}  // namespace

const char* WebhookFailureName(WebhookFailure failure) {
  switch (failure) {
    case WebhookFailure::kConnect:
      return "connect";
    case WebhookFailure::kTls:
      return "tls";
    case WebhookFailure::kTimeout:
      return "timeout";
    case WebhookFailure::kStatus:
      return "status";
    case WebhookFailure::kProtocol:
      return "protocol";
    case WebhookFailure::kOther:
      return "other";
  }
  return "other";
}

absl::StatusOr<std::unique_ptr<WebhookSender>> WebhookSender::Start(
    const WebhookSenderOptions& options, EventJournal* journal) {
  if (options.batch == 0 || options.batch > 10'000) {
    return absl::InvalidArgumentError("webhook batch must be 1-10000 events");
  }
  if (options.batch_bytes_max < 4096) {
    return absl::InvalidArgumentError("webhook batch_bytes_max must be at least 4096");
  }
  if (options.backoff_min <= absl::ZeroDuration() || options.backoff_max < options.backoff_min ||
      options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("webhook: timeout and backoffs must be positive, min <= max");
  }
  std::unique_ptr<WebhookSender> sender(new WebhookSender(options, journal));
  ASSIGN_OR_RETURN(sender->url_, ParseWebhookUrl(options.url));
  if (!options.secret_file.empty()) {
    ASSIGN_OR_RETURN(sender->secret_, ReadWebhookSecret(options.secret_file));
  }
  if (sender->url_.tls) {
    SSL_CTX* context = SSL_CTX_new(TLS_client_method());
    if (context == nullptr) return absl::InternalError("webhook: SSL_CTX_new failed");
    sender->tls_context_ = context;
    SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
    int loaded = options.ca_file.empty()
                     ? SSL_CTX_set_default_verify_paths(context)
                     : SSL_CTX_load_verify_locations(context, options.ca_file.c_str(), nullptr);
    if (loaded != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("webhook: cannot load the CAs ",
                       options.ca_file.empty() ? "(system default)" : options.ca_file));
    }
  }
  sender->wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (sender->wake_fd_ < 0) {
    return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
  }
  std::weak_ptr<Wakeup> weak = sender->wakeup_;
  journal->set_durable_listener([weak] {
    if (std::shared_ptr<Wakeup> wakeup = weak.lock()) {
      absl::MutexLock lock(&wakeup->mu);
      wakeup->pending = true;
    }
  });
  sender->thread_ = std::thread([raw = sender.get()] { raw->Run(); });
  return sender;
}

WebhookSender::WebhookSender(const WebhookSenderOptions& options, EventJournal* journal)
    : options_(options),
      journal_(journal),
      wakeup_(std::make_shared<Wakeup>()),
      random_(std::random_device{}()) {}

WebhookSender::~WebhookSender() {
  Stop();
  if (tls_context_ != nullptr) SSL_CTX_free(tls_context_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void WebhookSender::Stop() {
  {
    absl::MutexLock lock(&wakeup_->mu);
    wakeup_->stopping = true;
  }
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof(one));
  }
  if (thread_.joinable()) {
    thread_.join();
    journal_->set_durable_listener(nullptr);
  }
}

bool WebhookSender::stopping() {
  absl::MutexLock lock(&wakeup_->mu);
  return wakeup_->stopping;
}

void WebhookSender::WaitUntil(absl::Time deadline, bool for_events) {
  Wakeup* wakeup = wakeup_.get();
  absl::MutexLock lock(&wakeup->mu);
  auto done = [wakeup, for_events]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return wakeup->stopping || (for_events && wakeup->pending);
  };
  wakeup->mu.AwaitWithDeadline(absl::Condition(&done), deadline);
  if (for_events) wakeup->pending = false;
}

WebhookSenderMetrics WebhookSender::metrics() const {
  absl::MutexLock lock(&metrics_mu_);
  return metrics_;
}

size_t WebhookSender::DropExpired(std::vector<JournalEvent>* batch) {
  absl::Time oldest_allowed = absl::Now() - options_.max_age;
  size_t before = batch->size();
  batch->erase(std::remove_if(batch->begin(), batch->end(),
                              [oldest_allowed](const JournalEvent& e) {
                                return e.event.event_time < oldest_allowed;
                              }),
               batch->end());
  size_t dropped = before - batch->size();
  if (dropped > 0) {
    journal_->CountDroppedByAge(dropped);
    absl::MutexLock lock(&metrics_mu_);
    metrics_.dropped_by_age += dropped;
  }
  return dropped;
}

void WebhookSender::Run() {
  std::vector<JournalEvent> batch;
  uint64_t batch_last = 0;  // the last sequence read into `batch` (dropped ones included)
  absl::Duration backoff = options_.backoff_min;
  while (!stopping()) {
    if (batch.empty()) {
      absl::StatusOr<std::vector<JournalEvent>> read =
          journal_->Read(journal_->acknowledged(), options_.batch);
      if (!read.ok()) {
        TERN_LOG(kError, "webhook: reading the event journal: %s", read.status().ToString());
        WaitUntil(absl::Now() + options_.backoff_max, false);
        continue;
      }
      if (read->empty()) {
        // Idle: the acknowledgements so far become durable before the wait.
        if (absl::Status synced = journal_->SyncCursor(); !synced.ok()) {
          TERN_LOG(kError, "webhook: %s", synced.ToString());
        }
        WaitUntil(absl::Now() + options_.idle_poll, true);
        continue;
      }
      batch = *std::move(read);
      TrimToBodyBound(&batch, options_.batch_bytes_max);
      batch_last = batch.back().sequence;
    }
    if (DropExpired(&batch) > 0 && !batch.empty()) {
      // The given-up events before the first kept one need not wait for the next post.
      if (absl::Status acked = journal_->Acknowledge(batch.front().sequence - 1); !acked.ok()) {
        TERN_LOG(kError, "webhook: %s", acked.ToString());
      }
    }
    int http_status = 0;
    absl::Status posted = absl::OkStatus();
    if (!batch.empty()) {
      std::vector<Event> events;
      events.reserve(batch.size());
      for (const JournalEvent& e : batch) events.push_back(e.event);
      posted = Post(EventBatchJson(events), &http_status);
    }
    if (absl::IsCancelled(posted)) break;
    if (posted.ok()) {
      if (absl::Status acked = journal_->Acknowledge(batch_last); !acked.ok()) {
        // The batch was delivered; without the cursor it is sent again (at least once).
        TERN_LOG(kError, "webhook: %s", acked.ToString());
      }
      absl::MutexLock lock(&metrics_mu_);
      if (!batch.empty()) {
        ++metrics_.posted_batches;
        metrics_.posted_events += batch.size();
        metrics_.last_status = http_status;
      }
      metrics_.consecutive_failures = 0;
      metrics_.backoff = absl::ZeroDuration();
      batch.clear();
      backoff = options_.backoff_min;
      continue;
    }
    connection_.reset();
    // Jitter: between 3/4 and 5/4 of the backoff, so that many senders do not beat in step.
    double factor = std::uniform_real_distribution<double>(0.75, 1.25)(random_);
    absl::Duration wait = std::min(backoff * factor, options_.backoff_max);
    NoteFailure(posted, http_status, wait);
    WaitUntil(absl::Now() + wait, false);
    backoff = std::min(backoff * 2, options_.backoff_max);
  }
  connection_.reset();
}

void WebhookSender::NoteFailure(const absl::Status& status, int http_status,
                                absl::Duration backoff) {
  WebhookFailure kind = Classify(status);
  uint64_t failures;
  {
    absl::MutexLock lock(&metrics_mu_);
    ++metrics_.failures[static_cast<int>(kind)];
    if (http_status != 0) metrics_.last_status = http_status;
    failures = ++metrics_.consecutive_failures;
    metrics_.backoff = backoff;
  }
  // The first failure and then every tenth, so that a long outage does not flood the log.
  if (failures == 1 || failures % 10 == 0) {
    TERN_LOG(kWarning, "webhook %s: %s (%d failures in a row); retrying in %s", options_.url,
             status.message(), failures, absl::FormatDuration(backoff));
  }
}

absl::Status WebhookSender::Post(const std::string& body, int* http_status) {
  std::string request = absl::StrCat("POST ", url_.target, " HTTP/1.1\r\nHost: ", url_.HostHeader(),
                                     "\r\nUser-Agent: tern\r\nContent-Type: application/json\r\n",
                                     "Content-Length: ", body.size(), "\r\n");
  if (!secret_.empty())
    absl::StrAppend(&request, "X-Tern-Signature: ", Signature(secret_, body), "\r\n");
  absl::StrAppend(&request, "\r\n", body);
  // A kept-alive connection may have been closed by the receiver meanwhile: one fresh retry.
  bool reused = connection_ != nullptr;
  absl::Status status = Exchange(request, http_status);
  if (reused && *http_status == 0 && absl::IsUnavailable(status)) {
    connection_.reset();
    status = Exchange(request, http_status);
  }
  if (!status.ok()) connection_.reset();
  return status;
}

absl::Status WebhookSender::Exchange(const std::string& request, int* http_status) {
  absl::Time deadline = absl::Now() + options_.timeout;
  *http_status = 0;
  if (connection_ == nullptr) {
    ASSIGN_OR_RETURN(connection_,
                     WebhookConnection::Connect(url_, tls_context_, wake_fd_, deadline));
  }
  RETURN_IF_ERROR(connection_->SendAll(request, deadline));
  HttpResponseParser parser;
  std::string received;
  size_t received_bytes = 0;
  HttpResponseParser::Result result = HttpResponseParser::Result::kNeedMore;
  while (result == HttpResponseParser::Result::kNeedMore) {
    received.clear();
    ASSIGN_OR_RETURN(size_t n, connection_->Receive(&received, 16384, deadline));
    if (n == 0) {
      if (parser.consumed() == 0) return absl::UnavailableError("webhook: connection closed");
      result = parser.FinishAtClose();
    } else {
      received_bytes += n;
      result = parser.Feed(received);
    }
  }
  if (result == HttpResponseParser::Result::kError) {
    return absl::DataLossError(absl::StrCat("webhook: bad HTTP response: ", parser.error()));
  }
  *http_status = parser.status_code();
  // Bytes after the response (none were asked for) or no keep-alive: a fresh connection next.
  if (!parser.keep_alive() || parser.consumed() != received_bytes) connection_.reset();
  if (parser.status_code() / 100 != 2) {
    return absl::FailedPreconditionError(absl::StrCat(
        "webhook: HTTP ", parser.status_code(), " ",
        // Remote text, escaped for the log line.
        absl::CHexEscape(
            absl::StripAsciiWhitespace(absl::string_view(parser.body()).substr(0, 200)))));
  }
  return absl::OkStatus();
}

}  // namespace tern::events
