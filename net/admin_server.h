// AdminServer: the operator's HTTP endpoint (--admin_listen, loopback by default), on its own
// thread, off the shards. One event loop (poll, non-blocking sockets) serves many clients
// at once, so a slow or idle client costs only itself:
//   - each connection has an absolute deadline: its whole request (head and body) within
//     kRequestTimeout of accept (then 408 and close), its answer sent within
//     kResponseTimeout of being ready (then close);
//   - at most kConnectionsMax connections: a new one beyond that closes the oldest still
//     sending its request (none: the new one is closed);
//   - a request's head is at most kRequestBytesMax bytes (431 beyond), its body at most
//     kBodyBytesMax (413 beyond).
// A complete request goes through AdminAccess (net/admin_access.h: methods, Host, token,
// cross-origin changes), then to the handler the daemon provides; GET and POST, the
// parameters in the query string, and the body (at most kBodyBytesMax: an import's chunk)
// for a handler that takes it. One answer per connection,
// as HTTP/1.0 with Connection: close. Refusals are logged, at most one line every
// kRefusalLogInterval (with the count of those left out). `tick` (optional) runs on the same
// thread about every kTickInterval.
//
//   AdminServer admin([](absl::string_view method, absl::string_view target) {
//     return HttpResponse{200, "text/plain", "ok"};
//   }, /*tick=*/nullptr, AdminAccessOptions{.host_names = {"relay1.example.net"}});
//   RETURN_IF_ERROR(admin.Start(address));
//   ...
//   admin.Stop();
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "net/admin_access.h"
#include "net/http_response.h"
#include "net/listen_socket.h"

namespace tern::net {

class AdminServer {
 public:
  // `method` is "GET" or "POST"; `target` the request target, e.g. "/queue?format=text".
  using Handler = std::function<HttpResponse(absl::string_view method, absl::string_view target)>;
  // The same with the request's body ("" when none).
  using BodyHandler = std::function<HttpResponse(absl::string_view method, absl::string_view target,
                                                 absl::string_view body)>;
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kRequestBytesMax = 8192;
  static constexpr size_t kBodyBytesMax = size_t{1} << 20;
  static constexpr size_t kConnectionsMax = 64;
  static constexpr std::chrono::milliseconds kRequestTimeout{5000};
  static constexpr std::chrono::milliseconds kResponseTimeout{30000};
  static constexpr std::chrono::milliseconds kTickInterval{200};
  static constexpr std::chrono::milliseconds kRefusalLogInterval{10000};

  explicit AdminServer(Handler handler, std::function<void()> tick = nullptr,
                       AdminAccessOptions access = {});
  explicit AdminServer(BodyHandler handler, std::function<void()> tick = nullptr,
                       AdminAccessOptions access = {});
  ~AdminServer();
  absl::Status Start(const SocketAddress& address);
  void Stop();
  uint16_t port() const { return port_; }

 private:
  struct Connection;

  void Serve();
  void Accept(Clock::time_point now);
  void Receive(Connection& connection, Clock::time_point now);
  void Answer(Connection& connection, const HttpResponse& response, Clock::time_point now);
  void Send(Connection& connection);
  void Expire(Clock::time_point now);
  void CloseOne(Connection& connection);
  // Logs a line, unless one was logged within kRefusalLogInterval (then counts it).
  void LogRefusal(const std::string& line, Clock::time_point now);

  BodyHandler handler_;
  std::function<void()> tick_;
  AdminAccessOptions access_options_;
  std::unique_ptr<AdminAccess> access_;  // made by Start, which knows the address
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  // The admin thread's own (after Start).
  std::vector<std::unique_ptr<Connection>> connections_;
  Clock::time_point accept_paused_until_{};
  Clock::time_point last_refusal_log_{};
  uint64_t refusals_not_logged_ = 0;
};

}  // namespace tern::net
