// AdminServer: the operator's HTTP endpoint (--admin_listen, loopback by default). A small
// HTTP/1.0 server on its own thread, off the shards: it serves GET requests through a
// handler the daemon provides (/metrics in Prometheus text, /queue as JSON or text) and
// closes each connection after one response. Requests are bounded (8 KiB, 5 s).
//
//   AdminServer admin([](absl::string_view target) { return HttpResponse{200, "text/plain", "ok"};
//   }); RETURN_IF_ERROR(admin.Start(address));
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
  // `target` is the request target, e.g. "/queue?format=json".
  using Handler = std::function<HttpResponse(absl::string_view target)>;
  static constexpr size_t kRequestBytesMax = 8192;

  explicit AdminServer(Handler handler) : handler_(std::move(handler)) {}
  ~AdminServer() { Stop(); }
  absl::Status Start(const SocketAddress& address);
  void Stop();
  uint16_t port() const { return port_; }

 private:
  void Serve();
  void HandleClient(int fd);

  Handler handler_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace tern::net
