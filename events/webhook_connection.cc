// The webhook sender's client connection, TCP or TLS (events/webhook_connection.h).
#include "events/webhook_connection.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace tern::events {
namespace {

std::string OpenSslErrors() {
  std::string text;
  while (unsigned long error = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(error, buffer, sizeof(buffer));
    absl::StrAppend(&text, text.empty() ? "" : "; ", buffer);
  }
  return text.empty() ? "no OpenSSL error queued" : text;
}

int PollTimeoutMs(absl::Time deadline) {
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 60'000));
}

}  // namespace

absl::Status WebhookConnection::Wait(short events, absl::Time deadline) {
  while (true) {
    pollfd fds[2] = {{fd_, events, 0}, {wake_fd_, POLLIN, 0}};
    int n = ::poll(fds, wake_fd_ >= 0 ? 2 : 1, PollTimeoutMs(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::UnavailableError(absl::StrCat("poll: ", std::strerror(errno)));
    if (wake_fd_ >= 0 && (fds[1].revents & POLLIN)) return absl::CancelledError("stopping");
    if (fds[0].revents != 0) return absl::OkStatus();
    if (absl::Now() >= deadline) return absl::DeadlineExceededError("webhook: timed out");
  }
}

absl::StatusOr<std::unique_ptr<WebhookConnection>> WebhookConnection::Connect(const WebhookUrl& url,
                                                                              SSL_CTX* tls_context,
                                                                              int wake_fd,
                                                                              absl::Time deadline) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* addresses = nullptr;
  std::string port = absl::StrCat(url.port);
  int rc = ::getaddrinfo(url.host.c_str(), port.c_str(), &hints, &addresses);
  if (rc != 0) {
    return absl::UnavailableError(
        absl::StrCat("webhook: resolving ", url.host, ": ", gai_strerror(rc)));
  }
  absl::Status last = absl::UnavailableError(absl::StrCat("webhook: no address for ", url.host));
  std::unique_ptr<WebhookConnection> connection;
  for (addrinfo* a = addresses; a != nullptr; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last = absl::UnavailableError(absl::StrCat("webhook: socket: ", std::strerror(errno)));
      continue;
    }
    std::unique_ptr<WebhookConnection> candidate(new WebhookConnection(fd, wake_fd));
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last = absl::UnavailableError(
          absl::StrCat("webhook: connect ", url.HostHeader(), ": ", std::strerror(errno)));
      continue;
    }
    last = candidate->Wait(POLLOUT, deadline);
    if (last.ok()) {
      int error = 0;
      socklen_t length = sizeof(error);
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
      if (error != 0) {
        last = absl::UnavailableError(
            absl::StrCat("webhook: connect ", url.HostHeader(), ": ", std::strerror(error)));
      }
    }
    if (last.ok()) {
      connection = std::move(candidate);
      break;
    }
    if (absl::IsCancelled(last) || absl::IsDeadlineExceeded(last)) break;
  }
  ::freeaddrinfo(addresses);
  if (!connection) return last;
  int one = 1;
  ::setsockopt(connection->fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (url.tls) RETURN_IF_ERROR(connection->Handshake(url, tls_context, deadline));
  return connection;
}

absl::Status WebhookConnection::Handshake(const WebhookUrl& url, SSL_CTX* tls_context,
                                          absl::Time deadline) {
  if (tls_context == nullptr) return absl::FailedPreconditionError("webhook: https without TLS");
  ERR_clear_error();
  ssl_ = SSL_new(tls_context);
  if (ssl_ == nullptr) return absl::InternalError("webhook: SSL_new: " + OpenSslErrors());
  SSL_set_fd(ssl_, fd_);
  bool literal = url.host_is_ipv6_literal;
  in_addr ipv4;
  if (inet_pton(AF_INET, url.host.c_str(), &ipv4) == 1) literal = true;
  if (literal) {
    // RFC 6066 §3: no SNI for an address; the certificate must name the address itself.
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
    if (X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str()) != 1) {
      return absl::InternalError("webhook: X509_VERIFY_PARAM_set1_ip_asc failed");
    }
  } else {
    if (SSL_set_tlsext_host_name(ssl_, url.host.c_str()) != 1 ||
        SSL_set1_host(ssl_, url.host.c_str()) != 1) {
      return absl::InternalError("webhook: setting the TLS host name: " + OpenSslErrors());
    }
  }
  SSL_set_verify(ssl_, SSL_VERIFY_PEER, nullptr);
  while (true) {
    int rc = SSL_connect(ssl_);
    if (rc == 1) return absl::OkStatus();
    int error = SSL_get_error(ssl_, rc);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      RETURN_IF_ERROR(Wait(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline));
      continue;
    }
    long verify = SSL_get_verify_result(ssl_);
    std::string why = verify != X509_V_OK ? X509_verify_cert_error_string(verify) : OpenSslErrors();
    return absl::UnauthenticatedError(
        absl::StrCat("webhook: TLS handshake with ", url.HostHeader(), ": ", why));
  }
}

WebhookConnection::~WebhookConnection() {
  if (ssl_ != nullptr) SSL_free(ssl_);  // no close_notify: the connection is dropped at once
  ::close(fd_);
}

absl::Status WebhookConnection::SendAll(absl::string_view bytes, absl::Time deadline) {
  while (!bytes.empty()) {
    ssize_t n;
    if (ssl_ != nullptr) {
      ERR_clear_error();
      size_t written = 0;
      int rc = SSL_write_ex(ssl_, bytes.data(), bytes.size(), &written);
      if (rc == 1) {
        bytes.remove_prefix(written);
        continue;
      }
      int error = SSL_get_error(ssl_, rc);
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
        RETURN_IF_ERROR(Wait(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline));
        continue;
      }
      return absl::UnavailableError("webhook: TLS write: " + OpenSslErrors());
    }
    n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      RETURN_IF_ERROR(Wait(POLLOUT, deadline));
    } else {
      return absl::UnavailableError(absl::StrCat("webhook: send: ", std::strerror(errno)));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> WebhookConnection::Receive(std::string* out, size_t bytes_max,
                                                  absl::Time deadline) {
  char buffer[16384];
  size_t want = std::min(bytes_max, sizeof(buffer));
  while (true) {
    if (ssl_ != nullptr) {
      ERR_clear_error();
      size_t read = 0;
      int rc = SSL_read_ex(ssl_, buffer, want, &read);
      if (rc == 1) {
        out->append(buffer, read);
        return read;
      }
      int error = SSL_get_error(ssl_, rc);
      if (error == SSL_ERROR_ZERO_RETURN) return 0;
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
        RETURN_IF_ERROR(Wait(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline));
        continue;
      }
      if (error == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) return 0;  // closed uncleanly
      return absl::UnavailableError("webhook: TLS read: " + OpenSslErrors());
    }
    ssize_t n = ::recv(fd_, buffer, want, 0);
    if (n >= 0) {
      out->append(buffer, static_cast<size_t>(n));
      return static_cast<size_t>(n);
    }
    if (errno == EAGAIN || errno == EINTR) {
      RETURN_IF_ERROR(Wait(POLLIN, deadline));
      continue;
    }
    return absl::UnavailableError(absl::StrCat("webhook: recv: ", std::strerror(errno)));
  }
}

}  // namespace tern::events
