// TlsEngine: one TLS session (OpenSSL's SSL over a pair of memory BIOs) with no I/O of its
// own: the caller puts received ciphertext in, takes ciphertext out to send, and reads and
// writes plaintext. TlsConnection drives it from the ring; tests drive two of them against
// each other in memory.
//
//   auto engine = TlsEngine::Create(context);       // server or client, as the context
//   engine->PutCiphertext(received);
//   if (engine->Handshake() == TlsEngine::Progress::kDone) { ... Read() / Write() ... }
//   engine->TakeCiphertext(&out);  send(out)         // after every call that may produce
//
// Bounds: ciphertext put in is consumed by the next Handshake()/Read() calls (a caller that
// reads until kNeedMore keeps at most one partial record, < 17 KiB, buffered); ciphertext
// out grows with what is written and is taken whole.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "net/tls/tls_context.h"

namespace tern::net::tls {

class TlsEngine {
 public:
  // A client engine sends `server_name` as SNI (and checks it when the context verifies),
  // and offers `resume` (a session an earlier connection to the same server got) if given.
  static absl::StatusOr<std::unique_ptr<TlsEngine>> Create(
      std::shared_ptr<const TlsContext> context, absl::string_view server_name = "",
      SSL_SESSION* resume = nullptr);
  ~TlsEngine();
  TlsEngine(const TlsEngine&) = delete;
  TlsEngine& operator=(const TlsEngine&) = delete;

  enum class Progress { kNeedMore, kDone, kFailed };
  enum class ReadResult {
    kData,      // *got > 0 plaintext bytes
    kNeedMore,  // no complete record: put more ciphertext in
    kClosed,    // the peer sent close_notify: nothing more will come
    kFailed,    // bad record, alert or protocol violation: see error()
  };

  void PutCiphertext(absl::string_view bytes);
  // Advances the handshake with what was put in; kDone from then on once it completed.
  Progress Handshake();
  ReadResult Read(char* buffer, size_t capacity, size_t* got);
  // Encrypts all of `plaintext` (only after the handshake completed).
  absl::Status Write(absl::string_view plaintext);
  // Queues a close_notify alert.
  void Shutdown();

  size_t pending_ciphertext() const;
  // Replaces *out with every ciphertext byte produced so far.
  void TakeCiphertext(std::string* out);

  bool handshake_done() const { return handshake_done_; }
  // Established, and no byte buffered in either direction: the session may move to another
  // thread with its socket (a parked outbound connection).
  bool idle() const;
  bool is_server() const { return server_; }
  // Why the last kFailed happened (OpenSSL's reasons).
  const std::string& error() const { return error_; }
  // "TLSv1.3 TLS_AES_256_GCM_SHA384" once the handshake completed.
  std::string Describe() const;
  bool session_reused() const;
  // The session to offer when connecting to the same server again (client): null until it
  // is resumable (TLS 1.3: after the server's ticket was read). The caller owns it.
  SSL_SESSION* TakeSessionForResumption() const;

 private:
  TlsEngine(std::shared_ptr<const TlsContext> context, SSL* ssl, BIO* in, BIO* out);
  // Classifies a failed SSL call; kNeedMore for WANT_READ/WANT_WRITE.
  Progress Fail(int ret, absl::string_view what);

  std::shared_ptr<const TlsContext> context_;
  SSL* ssl_;
  BIO* in_;   // owned by ssl_
  BIO* out_;  // owned by ssl_
  bool server_;
  bool handshake_done_ = false;
  std::string error_;
};

}  // namespace tern::net::tls
