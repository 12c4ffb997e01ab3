// AdminServer: the operator's HTTP endpoint (--admin_listen, loopback by default). A small
// HTTP/1.0 server on its own thread, off the shards: it serves GET and POST requests (the
// parameters in the query string; a body is not read) through a handler the daemon
// provides and closes each connection after one response. Requests are bounded (8 KiB,
// 5 s). `tick` (optional) runs on the same thread about every 200 ms.
//
//   AdminServer admin([](absl::string_view method, absl::string_view target) {
//     return HttpResponse{200, "text/plain", "ok"};
//   });
//   RETURN_IF_ERROR(admin.Start(address));
//   ...
//   admin.Stop();
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "net/listen_socket.h"

namespace tern::net {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class AdminServer {
 public:
  // `method` is "GET" or "POST"; `target` the request target, e.g. "/queue?format=text".
  using Handler = std::function<HttpResponse(absl::string_view method, absl::string_view target)>;
  static constexpr size_t kRequestBytesMax = 8192;

  explicit AdminServer(Handler handler, std::function<void()> tick = nullptr)
      : handler_(std::move(handler)), tick_(std::move(tick)) {}
  ~AdminServer() { Stop(); }
  absl::Status Start(const SocketAddress& address);
  void Stop();
  uint16_t port() const { return port_; }

 private:
  void Serve();
  void HandleClient(int fd);

  Handler handler_;
  std::function<void()> tick_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace tern::net
