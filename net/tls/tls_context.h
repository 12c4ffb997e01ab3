// TlsContext: one OpenSSL SSL_CTX configured the way every Tern TLS session uses it: TLS 1.2
// and 1.3 only, forward-secret AEAD cipher suites (ECDHE with AES-GCM or ChaCha20-Poly1305),
// no compression, no renegotiation, small per-connection buffers while idle.
//
//   ASSIGN_OR_RETURN(auto server, TlsContext::CreateServer({.cert_file = c, .key_file = k}));
//   ASSIGN_OR_RETURN(auto client, TlsContext::CreateClient({}));
//   SSL* ssl = SSL_new(server->get());   // TlsEngine does this
//
// A server context holds the certificate chain and its private key, checked against each
// other when loaded. Private key material lives in OpenSSL's secure heap when
// InitSecureHeap() ran first (the heap is locked and excluded from core dumps).
//
// A context is immutable once created and may be used from every shard at once (SSL_CTX is
// thread-safe for SSL_new); reloading certificates makes a new one (TlsContextSlot).
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tern::net::tls {

struct TlsServerOptions {
  std::string cert_file;  // PEM: the certificate, then its chain
  std::string key_file;   // PEM: its private key
};

struct TlsClientOptions {
  // Verify the server's chain against the system's trust store (or ca_file) and its name.
  // Off: opportunistic TLS (RFC 7435), encryption without authentication.
  bool verify_peer = false;
  std::string ca_file;  // PEM bundle; empty: the system's default paths
};

class TlsContext {
 public:
  static absl::StatusOr<std::shared_ptr<const TlsContext>> CreateServer(
      const TlsServerOptions& options);
  static absl::StatusOr<std::shared_ptr<const TlsContext>> CreateClient(
      const TlsClientOptions& options);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* get() const { return ctx_; }
  bool is_server() const { return server_; }
  bool verify_peer() const { return verify_peer_; }

 private:
  TlsContext(SSL_CTX* ctx, bool server, bool verify_peer)
      : ctx_(ctx), server_(server), verify_peer_(verify_peer) {}
  SSL_CTX* ctx_;
  bool server_;
  bool verify_peer_;
};

// Sets up OpenSSL's secure heap (locked memory, MADV_DONTDUMP) so that private keys loaded
// afterwards stay out of core dumps. Call once, before loading keys; a failure (no
// mlock allowance, say) is reported and keys then live in the ordinary heap.
absl::Status InitSecureHeap();

}  // namespace tern::net::tls
