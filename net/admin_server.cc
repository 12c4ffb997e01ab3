// Implementation of net/admin_server.h.
#include "net/admin_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/log.h"

namespace tern::net {
namespace {

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

void WriteAll(int fd, absl::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

absl::Status AdminServer::Start(const SocketAddress& address) {
  auto fd = OpenListener(address, 64);
  if (!fd.ok()) return fd.status();
  listen_fd_ = *fd;
  auto port = BoundPort(listen_fd_);
  if (!port.ok()) return port.status();
  port_ = *port;
  thread_ = std::thread([this] { Serve(); });
  return absl::OkStatus();
}

void AdminServer::Stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  shutdown(listen_fd_, SHUT_RDWR);
  thread_.join();
  close(listen_fd_);
  listen_fd_ = -1;
}

void AdminServer::Serve() {
  while (!stopping_) {
    pollfd pfd{listen_fd_, POLLIN, 0};
    int ready = poll(&pfd, 1, 200);
    if (tick_) tick_();
    if (ready <= 0) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    HandleClient(fd);
    close(fd);
  }
}

void AdminServer::HandleClient(int fd) {
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  std::string request;
  char chunk[2048];
  while (request.find("\r\n\r\n") == std::string::npos &&
         request.find("\n\n") == std::string::npos) {
    if (request.size() > kRequestBytesMax) return;
    ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) return;
    request.append(chunk, static_cast<size_t>(n));
  }
  std::vector<absl::string_view> words =
      absl::StrSplit(absl::string_view(request).substr(0, request.find_first_of("\r\n")), ' ');
  HttpResponse response;
  if (words.size() < 2) {
    response = {400, "text/plain", "bad request\n"};
  } else if (words[0] != "GET" && words[0] != "POST") {
    response = {405, "text/plain", "only GET and POST are supported\n"};
  } else {
    response = handler_(words[0], words[1]);
  }
  WriteAll(fd, absl::StrCat("HTTP/1.0 ", response.status, " ", ReasonPhrase(response.status),
                            "\r\nContent-Type: ", response.content_type, "\r\nContent-Length: ",
                            response.body.size(), "\r\nConnection: close\r\n\r\n", response.body));
}

}  // namespace tern::net
