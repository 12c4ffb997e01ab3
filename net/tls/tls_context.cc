// Implementation of net/tls/tls_context.h.
#include "net/tls/tls_context.h"

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "absl/strings/str_cat.h"
#include "net/tls/openssl_error.h"

namespace tern::net::tls {
namespace {

// TLS 1.2 suites: ECDHE key exchange (forward secrecy) with AEAD ciphers only. TLS 1.3's
// own suites are all AEAD and left at OpenSSL's defaults.
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Bytes of secure heap: room for a few RSA 4096 and EC keys and their reloads.
constexpr size_t kSecureHeapBytes = 256 * 1024;
constexpr size_t kSecureHeapMinimum = 32;

absl::StatusOr<SSL_CTX*> NewBaseContext(const SSL_METHOD* method) {
  SSL_CTX* ctx = SSL_CTX_new(method);
  if (ctx == nullptr) return OpenSslError("SSL_CTX_new");
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) {
    SSL_CTX_free(ctx);
    return OpenSslError("configuring TLS versions and ciphers");
  }
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // An idle SMTP connection keeps no record buffers (~34 KiB each otherwise).
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  return ctx;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const TlsContext>> TlsContext::CreateServer(
    const TlsServerOptions& options) {
  if (options.cert_file.empty() || options.key_file.empty()) {
    return absl::InvalidArgumentError("a TLS server needs both a certificate and a key file");
  }
  absl::StatusOr<SSL_CTX*> ctx = NewBaseContext(TLS_server_method());
  if (!ctx.ok()) return ctx.status();
  std::shared_ptr<const TlsContext> context(new TlsContext(*ctx, /*server=*/true, false));
  if (SSL_CTX_use_certificate_chain_file(*ctx, options.cert_file.c_str()) != 1) {
    return OpenSslError(absl::StrCat("reading certificate ", options.cert_file));
  }
  if (SSL_CTX_use_PrivateKey_file(*ctx, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return OpenSslError(absl::StrCat("reading private key ", options.key_file, " for certificate ",
                                     options.cert_file));
  }
  if (SSL_CTX_check_private_key(*ctx) != 1) {
    return OpenSslError(
        absl::StrCat("private key ", options.key_file, " does not match ", options.cert_file));
  }
  // One ticket is enough for a client that resumes once per connection.
  SSL_CTX_set_num_tickets(*ctx, 1);
  return context;
}

absl::StatusOr<std::shared_ptr<const TlsContext>> TlsContext::CreateClient(
    const TlsClientOptions& options) {
  absl::StatusOr<SSL_CTX*> ctx = NewBaseContext(TLS_client_method());
  if (!ctx.ok()) return ctx.status();
  std::shared_ptr<const TlsContext> context(
      new TlsContext(*ctx, /*server=*/false, options.verify_peer));
  if (options.verify_peer) {
    const int loaded = options.ca_file.empty()
                           ? SSL_CTX_set_default_verify_paths(*ctx)
                           : SSL_CTX_load_verify_locations(*ctx, options.ca_file.c_str(), nullptr);
    if (loaded != 1) return OpenSslError(absl::StrCat("loading CA file ", options.ca_file));
    SSL_CTX_set_verify(*ctx, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(*ctx, SSL_VERIFY_NONE, nullptr);
  }
  // Sessions are kept by the caller (per destination) for resumption, not in the context.
  SSL_CTX_set_session_cache_mode(*ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  return context;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

absl::Status InitSecureHeap() {
  if (CRYPTO_secure_malloc_initialized()) return absl::OkStatus();
  if (CRYPTO_secure_malloc_init(kSecureHeapBytes, kSecureHeapMinimum) == 0) {
    ERR_clear_error();
    return absl::ResourceExhaustedError(
        "OpenSSL secure heap unavailable (mlock limit?): private keys stay in the ordinary heap");
  }
  return absl::OkStatus();
}

}  // namespace tern::net::tls
