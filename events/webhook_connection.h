// WebhookConnection: one client connection to the webhook receiver, plain TCP or TLS, for the
// sender's own thread. The socket is non-blocking and every wait is a poll() on it and on the
// owner's wake descriptor with a deadline, so a slow receiver times out and a stopping owner
// interrupts a connect, a handshake, a send or a receive at once (Cancelled).
// TLS: OpenSSL on the socket, the certificate chain verified against the context's CAs and
// the URL's host (SSL_set1_host for a name, the IP address for a literal; SNI for a name).
//
//   ASSIGN_OR_RETURN(auto connection,
//                    WebhookConnection::Connect(url, tls_context, wake_fd, absl::Now() + timeout));
//   RETURN_IF_ERROR(connection->SendAll(request, deadline));
//   ASSIGN_OR_RETURN(size_t n, connection->Receive(&buffer, deadline));  // 0: closed
//
// Status codes: Cancelled (woken), DeadlineExceeded (timeout), Unauthenticated (TLS handshake
// or verification failed), Unavailable (resolve, refused, reset and other socket errors).
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "events/webhook_url.h"

namespace tern::events {

class WebhookConnection {
 public:
  // `tls_context` is null for http://, else used (not owned) for https://. Host names are
  // resolved with getaddrinfo (blocking, not interruptible: use an address literal where a
  // prompt stop matters); each address is tried in turn.
  static absl::StatusOr<std::unique_ptr<WebhookConnection>> Connect(const WebhookUrl& url,
                                                                    SSL_CTX* tls_context,
                                                                    int wake_fd,
                                                                    absl::Time deadline);
  ~WebhookConnection();
  WebhookConnection(const WebhookConnection&) = delete;
  WebhookConnection& operator=(const WebhookConnection&) = delete;

  absl::Status SendAll(absl::string_view bytes, absl::Time deadline);
  // Appends what arrives (at most `bytes_max`) to `out`; 0 when the peer closed.
  absl::StatusOr<size_t> Receive(std::string* out, size_t bytes_max, absl::Time deadline);

 private:
  WebhookConnection(int fd, int wake_fd) : fd_(fd), wake_fd_(wake_fd) {}
  // Waits until the socket is ready for `events` (POLLIN/POLLOUT).
  absl::Status Wait(short events, absl::Time deadline);
  absl::Status Handshake(const WebhookUrl& url, SSL_CTX* tls_context, absl::Time deadline);

  int fd_;
  int wake_fd_;
  SSL* ssl_ = nullptr;
};

}  // namespace tern::events
