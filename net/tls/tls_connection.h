// TlsConnection: a Connection (net/transport.h) that speaks TLS over another Connection. It
// sits between the transport's connection and the handler (an SMTP session, tern-bench's
// client): the handler sends and receives plaintext exactly as over plain TCP, and this
// class encrypts, decrypts and drives the handshake with a TlsEngine.
//
//   // Implicit TLS (port 465): wrap a freshly accepted connection.
//   TlsConnection* tls = TlsConnection::Wrap(accepted, std::move(engine), {});
//   tls->SetHandler(session); tls->StartReceiving();
//   // STARTTLS: once the plaintext "220 Ready to start TLS" is sent, wrap the same
//   // connection (it keeps receiving), passing bytes that already arrived after the 220.
//   TlsConnection* tls = TlsConnection::Wrap(plain, std::move(engine), {.already_receiving =
//                                             true, .early_ciphertext = bytes});
//
// A gathered send (SendPieces) is written to the engine as one plaintext, so it goes out in
// as few records as its size allows. Send() before the handshake completed is held and encrypted
// once it has (a server's greeting, a client's EHLO). OnSendDone() comes once every ciphertext byte
// of that Send() was written to the socket. A close_notify from the peer is OnPeerClosed(OK);
// anything after it is ignored. A handshake or record failure is OnPeerClosed(Unavailable) with
// OpenSSL's reason. Close() closes the socket at once (no close_notify wait); Release()
// never hands a TLS socket over (done(-1)), ReleaseWithEngine() hands it over together with
// its TLS session (a parked outbound connection: wrap the adopted socket with that engine
// to go on). The TlsConnection owns itself and is freed after the handler's OnClosed().
#pragma once

#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "net/tls/tls_engine.h"
#include "net/transport.h"

namespace tern::net::tls {

struct TlsWrapOptions {
  bool already_receiving = false;      // the lower connection's receive is armed already
  absl::string_view early_ciphertext;  // received before the wrap (copied)
  // Told once, when the handshake completed (with the engine, to log or count it) or
  // failed (with the reason).
  absl::AnyInvocable<void(const TlsEngine& engine, const absl::Status& result)> on_handshake;
};

class TlsConnection : public Connection, public ConnectionHandler {
 public:
  static TlsConnection* Wrap(Connection* lower, std::unique_ptr<TlsEngine> engine,
                             TlsWrapOptions options);

  // Connection (what the handler above uses).
  void SetHandler(ConnectionHandler* handler) override { upper_ = handler; }
  void StartReceiving() override;
  void SendPieces(std::span<const absl::string_view> pieces) override;
  bool sending() const override { return upper_send_pending_; }
  void Close() override;
  void Release(absl::AnyInvocable<void(int fd)> done) override;
  // Like Release(), but a reusable socket comes with its engine: done(fd, engine) once no
  // operation is in flight, or done(-1, nullptr) (the socket closed) when either the socket
  // (see Connection::Release) or the TLS session (a byte buffered, a send pending) is not
  // at rest.
  void ReleaseWithEngine(absl::AnyInvocable<void(int fd, std::unique_ptr<TlsEngine> engine)> done);
  const sockaddr_storage& peer_address() const override { return lower_->peer_address(); }
  uint64_t id() const override { return lower_->id(); }

  // ConnectionHandler (what the lower connection tells us).
  void OnReceive(absl::string_view bytes) override;
  void OnSendDone(absl::Status status) override;
  void OnPeerClosed(absl::Status status) override;
  void OnClosed() override;

  const TlsEngine& engine() const { return *engine_; }

 private:
  TlsConnection(Connection* lower, std::unique_ptr<TlsEngine> engine, TlsWrapOptions options);
  ~TlsConnection() override = default;
  // Handshake, then decrypt and hand plaintext up, until the engine needs more input.
  void Process();
  // Encrypts the held Send() once the handshake is done.
  void WriteHeldPlaintext();
  // Sends what the engine produced when nothing is in flight below.
  void PumpOutput();
  void TellPeerClosed(absl::Status status);
  void FinishHandshake(const absl::Status& result);

  Connection* lower_;
  std::unique_ptr<TlsEngine> engine_;
  TlsWrapOptions options_;
  ConnectionHandler* upper_ = nullptr;
  bool started_ = false;
  bool closing_ = false;
  bool peer_closed_reported_ = false;
  bool handshake_reported_ = false;
  // The handler's Send(): held until the handshake, then done once its ciphertext (which
  // ends at upper_send_goal_ bytes taken from the engine in all) was written.
  bool upper_send_pending_ = false;
  absl::string_view held_plaintext_;
  std::string gathered_plaintext_;  // the pieces of a gathered Send, as one record's input
  uint64_t taken_ = 0;              // ciphertext bytes taken from the engine to send
  uint64_t sent_ = 0;               // of those, written to the socket
  uint64_t upper_send_goal_ = 0;
  std::string in_flight_;  // ciphertext being sent below
  absl::AnyInvocable<void(int fd)> release_done_;
};

}  // namespace tern::net::tls
