// Implementation of core/service_notifier.h.
#include "core/service_notifier.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace tern::core {

ServiceNotifier ServiceNotifier::FromEnvironment() {
  const char* socket_name = std::getenv("NOTIFY_SOCKET");
  absl::Duration watchdog = absl::ZeroDuration();
  const char* usec = std::getenv("WATCHDOG_USEC");
  const char* pid = std::getenv("WATCHDOG_PID");
  uint64_t usec_value = 0;
  int64_t pid_value = 0;
  const bool watchdog_is_ours =
      pid == nullptr || (absl::SimpleAtoi(pid, &pid_value) && pid_value == ::getpid());
  if (usec != nullptr && absl::SimpleAtoi(usec, &usec_value) && usec_value > 0 &&
      watchdog_is_ours) {
    watchdog = absl::Microseconds(static_cast<int64_t>(usec_value));
  }
  return ServiceNotifier(socket_name != nullptr ? socket_name : "", watchdog);
}

ServiceNotifier::ServiceNotifier(std::string socket_name, absl::Duration watchdog_interval)
    : socket_name_(std::move(socket_name)), watchdog_interval_(watchdog_interval) {
  if (socket_name_.empty()) return;
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

ServiceNotifier::~ServiceNotifier() {
  if (fd_ >= 0) ::close(fd_);
}

ServiceNotifier::ServiceNotifier(ServiceNotifier&& other) noexcept
    : socket_name_(std::move(other.socket_name_)),
      watchdog_interval_(other.watchdog_interval_),
      fd_(other.fd_) {
  other.fd_ = -1;
}

absl::Status ServiceNotifier::Notify(absl::string_view state) const {
  if (socket_name_.empty()) return absl::OkStatus();
  if (fd_ < 0) return absl::InternalError("NOTIFY_SOCKET: no socket could be opened");
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_name_.size() >= sizeof(address.sun_path) ||
      (socket_name_[0] != '/' && socket_name_[0] != '@')) {
    return absl::InvalidArgumentError(
        absl::StrCat("NOTIFY_SOCKET=", socket_name_, ": not a socket path or @abstract name"));
  }
  std::memcpy(address.sun_path, socket_name_.data(), socket_name_.size());
  socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_name_.size());
  if (socket_name_[0] == '@') {
    address.sun_path[0] = '\0';  // abstract namespace: no terminating NUL counted
  } else {
    length += 1;
  }
  const ssize_t sent = ::sendto(fd_, state.data(), state.size(), MSG_NOSIGNAL,
                                reinterpret_cast<const sockaddr*>(&address), length);
  if (sent < 0) {
    return absl::UnavailableError(
        absl::StrCat("NOTIFY_SOCKET=", socket_name_, ": sendto: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

std::string ServiceNotifier::ReloadingState() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  const uint64_t usec =
      static_cast<uint64_t>(now.tv_sec) * 1000000 + static_cast<uint64_t>(now.tv_nsec) / 1000;
  return absl::StrCat("RELOADING=1\nMONOTONIC_USEC=", usec);
}

}  // namespace tern::core
