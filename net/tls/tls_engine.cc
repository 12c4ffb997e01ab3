// Implementation of net/tls/tls_engine.h.
#include "net/tls/tls_engine.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "net/tls/openssl_error.h"

namespace tern::net::tls {

absl::StatusOr<std::unique_ptr<TlsEngine>> TlsEngine::Create(
    std::shared_ptr<const TlsContext> context, absl::string_view server_name, SSL_SESSION* resume) {
  CHECK(context != nullptr);
  ERR_clear_error();
  SSL* ssl = SSL_new(context->get());
  if (ssl == nullptr) return OpenSslError("SSL_new");
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  if (in == nullptr || out == nullptr) {
    BIO_free(in);
    BIO_free(out);
    SSL_free(ssl);
    return OpenSslError("BIO_new");
  }
  // An empty memory BIO reports "retry" rather than end of file.
  BIO_set_mem_eof_return(in, -1);
  BIO_set_mem_eof_return(out, -1);
  SSL_set_bio(ssl, in, out);
  std::unique_ptr<TlsEngine> engine(new TlsEngine(context, ssl, in, out));
  if (context->is_server()) {
    SSL_set_accept_state(ssl);
  } else {
    SSL_set_connect_state(ssl);
    if (!server_name.empty()) {
      const std::string name(server_name);
      // SNI only for a host name, never for an address literal (RFC 6066 §3).
      const bool literal = name.find_first_not_of("0123456789.") == std::string::npos ||
                           name.find(':') != std::string::npos;
      if (!literal && SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) {
        return OpenSslError("setting SNI");
      }
      if (context->verify_peer() && SSL_set1_host(ssl, name.c_str()) != 1) {
        return OpenSslError("setting the name to verify");
      }
    }
    if (resume != nullptr && SSL_set_session(ssl, resume) != 1) ERR_clear_error();
  }
  return engine;
}

TlsEngine::TlsEngine(std::shared_ptr<const TlsContext> context, SSL* ssl, BIO* in, BIO* out)
    : context_(std::move(context)), ssl_(ssl), in_(in), out_(out), server_(context_->is_server()) {}

TlsEngine::~TlsEngine() { SSL_free(ssl_); }

void TlsEngine::PutCiphertext(absl::string_view bytes) {
  if (bytes.empty()) return;
  // A memory BIO grows as needed; it only fails when out of memory.
  CHECK_EQ(BIO_write(in_, bytes.data(), static_cast<int>(bytes.size())),
           static_cast<int>(bytes.size()));
}

TlsEngine::Progress TlsEngine::Fail(int ret, absl::string_view what) {
  const int error = SSL_get_error(ssl_, ret);
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return Progress::kNeedMore;
  if (error == SSL_ERROR_SSL && SSL_get_verify_result(ssl_) != X509_V_OK) {
    error_ = absl::StrCat(what, ": certificate verification failed: ",
                          X509_verify_cert_error_string(SSL_get_verify_result(ssl_)));
    ERR_clear_error();
    return Progress::kFailed;
  }
  error_ = DrainOpenSslErrors(absl::StrCat(
      what, " (", error == SSL_ERROR_SYSCALL ? "unexpected end of stream" : "protocol error", ")"));
  return Progress::kFailed;
}

TlsEngine::Progress TlsEngine::Handshake() {
  if (handshake_done_) return Progress::kDone;
  ERR_clear_error();
  const int ret = SSL_do_handshake(ssl_);
  if (ret == 1) {
    handshake_done_ = true;
    return Progress::kDone;
  }
  return Fail(ret, "TLS handshake");
}

TlsEngine::ReadResult TlsEngine::Read(char* buffer, size_t capacity, size_t* got) {
  CHECK(handshake_done_);
  *got = 0;
  ERR_clear_error();
  const int ret = SSL_read_ex(ssl_, buffer, capacity, got) == 1 ? 1 : 0;
  if (ret == 1) return ReadResult::kData;
  if (SSL_get_error(ssl_, ret) == SSL_ERROR_ZERO_RETURN) return ReadResult::kClosed;
  return Fail(ret, "TLS read") == Progress::kNeedMore ? ReadResult::kNeedMore : ReadResult::kFailed;
}

absl::Status TlsEngine::Write(absl::string_view plaintext) {
  CHECK(handshake_done_);
  ERR_clear_error();
  while (!plaintext.empty()) {
    size_t written = 0;
    if (SSL_write_ex(ssl_, plaintext.data(), plaintext.size(), &written) != 1) {
      Fail(0, "TLS write");
      return absl::UnavailableError(error_);
    }
    plaintext.remove_prefix(written);
  }
  return absl::OkStatus();
}

void TlsEngine::Shutdown() {
  ERR_clear_error();
  SSL_shutdown(ssl_);  // queues close_notify; the answer is not waited for
  ERR_clear_error();
}

size_t TlsEngine::pending_ciphertext() const { return BIO_ctrl_pending(out_); }

bool TlsEngine::idle() const {
  return handshake_done_ && BIO_ctrl_pending(out_) == 0 && BIO_ctrl_pending(in_) == 0 &&
         SSL_pending(ssl_) == 0;
}

void TlsEngine::TakeCiphertext(std::string* out) {
  out->resize(BIO_ctrl_pending(out_));
  if (out->empty()) return;
  CHECK_EQ(BIO_read(out_, out->data(), static_cast<int>(out->size())),
           static_cast<int>(out->size()));
}

std::string TlsEngine::Describe() const {
  if (!handshake_done_) return "handshake not done";
  return absl::StrCat(SSL_get_version(ssl_), " ", SSL_get_cipher_name(ssl_));
}

bool TlsEngine::session_reused() const { return SSL_session_reused(ssl_) == 1; }

SSL_SESSION* TlsEngine::TakeSessionForResumption() const {
  SSL_SESSION* session = SSL_get0_session(ssl_);
  // TLS 1.3: resumable only once the server's NewSessionTicket was read.
  if (session == nullptr || SSL_SESSION_is_resumable(session) != 1) return nullptr;
  // A copy: OpenSSL marks the connection's own session not resumable when the connection
  // is freed without a close_notify (as ours are, closed after QUIT).
  return SSL_SESSION_dup(session);
}

}  // namespace tern::net::tls
