// Implementation of net/listen_socket.h.
#include "net/listen_socket.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace tern::net {

uint16_t SocketAddress::port() const {
  if (storage.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
}

void SocketAddress::set_port(uint16_t port) {
  if (storage.ss_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port = htons(port);
  } else {
    reinterpret_cast<sockaddr_in*>(&storage)->sin_port = htons(port);
  }
}

absl::StatusOr<SocketAddress> ParseSocketAddress(absl::string_view host_port) {
  absl::string_view host;
  absl::string_view port_text;
  if (!host_port.empty() && host_port.front() == '[') {
    size_t close = host_port.find(']');
    if (close == absl::string_view::npos || close + 1 >= host_port.size() ||
        host_port[close + 1] != ':') {
      return absl::InvalidArgumentError(absl::StrCat("bad address '", host_port, "'"));
    }
    host = host_port.substr(1, close - 1);
    port_text = host_port.substr(close + 2);
  } else {
    size_t colon = host_port.rfind(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("address '", host_port, "' needs HOST:PORT"));
    }
    host = host_port.substr(0, colon);
    port_text = host_port.substr(colon + 1);
  }
  uint32_t port = 0;
  if (!absl::SimpleAtoi(port_text, &port) || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("bad port in '", host_port, "'"));
  }
  SocketAddress address;
  std::string host_string(host);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address.storage);
  if (inet_pton(AF_INET, host_string.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    address.length = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host_string.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    address.length = sizeof(sockaddr_in6);
  } else if (host == "localhost") {
    v4->sin_family = AF_INET;
    v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.length = sizeof(sockaddr_in);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("'", host, "' is not an IP address (listen addresses are numeric)"));
  }
  address.set_port(static_cast<uint16_t>(port));
  return address;
}

std::string FormatIpAddress(const sockaddr_storage& address) {
  char text[INET6_ADDRSTRLEN] = {0};
  if (address.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&address)->sin_addr, text,
              sizeof(text));
  } else if (address.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
      inet_ntop(AF_INET, &v6->sin6_addr.s6_addr[12], text, sizeof(text));
    } else {
      inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
    }
  }
  return text;
}

std::string FormatSocketAddress(const sockaddr_storage& address) {
  SocketAddress copy;
  copy.storage = address;
  if (address.ss_family == AF_INET6)
    return absl::StrCat("[", FormatIpAddress(address), "]:", copy.port());
  return absl::StrCat(FormatIpAddress(address), ":", copy.port());
}

namespace {

// What a failed bind means to an operator, then the system's own words.
absl::Status BindError(const SocketAddress& address, int err) {
  std::string why;
  switch (err) {
    case EADDRINUSE:
      why = "in use by another program or user";
      break;
    case EACCES:
      why = absl::StrCat("port ", address.port(),
                         " is privileged: start ternd as root (with --user) or give it "
                         "CAP_NET_BIND_SERVICE");
      break;
    case EADDRNOTAVAIL:
      why = "not an address of this host";
      break;
    default:
      break;
  }
  const std::string system(strerror(err));
  return absl::UnavailableError(
      absl::StrCat("bind ", FormatSocketAddress(address.storage), ": ",
                   why.empty() ? system : absl::StrCat(why, " (", system, ")")));
}

// A TCP socket bound to `address` the way every ternd listener is, not yet listening.
absl::StatusOr<int> BindReusable(const SocketAddress& address) {
  int fd = socket(address.storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    int err = errno;
    close(fd);
    return absl::InternalError(absl::StrCat("setsockopt SO_REUSEPORT: ", strerror(err)));
  }
  if (address.storage.ss_family == AF_INET6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  }
  if (bind(fd, reinterpret_cast<const sockaddr*>(&address.storage), address.length) != 0) {
    int err = errno;
    close(fd);
    return BindError(address, err);
  }
  return fd;
}

}  // namespace

absl::StatusOr<int> OpenListener(const SocketAddress& address, int backlog) {
  absl::StatusOr<int> fd = BindReusable(address);
  if (!fd.ok()) return fd.status();
  if (listen(*fd, backlog) != 0) {
    int err = errno;
    close(*fd);
    return absl::InternalError(absl::StrCat("listen: ", strerror(err)));
  }
  return fd;
}

absl::Status ProbeListenAddress(const SocketAddress& address) {
  absl::StatusOr<int> fd = BindReusable(address);
  if (!fd.ok()) return fd.status();
  close(*fd);
  return absl::OkStatus();
}

absl::StatusOr<uint16_t> BoundPort(int fd) {
  SocketAddress address;
  address.length = sizeof(address.storage);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address.storage), &address.length) != 0) {
    return absl::InternalError(absl::StrCat("getsockname: ", strerror(errno)));
  }
  return address.port();
}

}  // namespace tern::net
