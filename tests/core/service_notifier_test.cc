// Tests of core/service_notifier.h against a real unix datagram socket (path and abstract).
#include "core/service_notifier.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace tern::core {
namespace {

// A bound datagram socket; `name` is a path or "@abstract".
class Receiver {
 public:
  explicit Receiver(const std::string& name) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, name.data(), name.size());
    socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    if (name[0] == '@') {
      address.sun_path[0] = '\0';
    } else {
      ::unlink(name.c_str());
      length += 1;
    }
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) == 0;
    timeval timeout{.tv_sec = 10, .tv_usec = 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  }
  ~Receiver() { ::close(fd_); }
  bool bound() const { return bound_; }
  std::string Receive() {
    char buffer[4096];
    const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
    return n < 0 ? std::string("<nothing>") : std::string(buffer, static_cast<size_t>(n));
  }

 private:
  int fd_ = -1;
  bool bound_ = false;
};

TEST(ServiceNotifier, SendsOneDatagramToASocketPath) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/notify-", ::getpid());
  Receiver receiver(path);
  ASSERT_TRUE(receiver.bound());
  ServiceNotifier notifier(path, absl::ZeroDuration());
  EXPECT_TRUE(notifier.enabled());
  ASSERT_TRUE(notifier.Notify("READY=1\nSTATUS=serving").ok());
  EXPECT_EQ(receiver.Receive(), "READY=1\nSTATUS=serving");
  ::unlink(path.c_str());
}

TEST(ServiceNotifier, SendsToAnAbstractName) {
  const std::string name = absl::StrCat("@tern-notify-test-", ::getpid());
  Receiver receiver(name);
  ASSERT_TRUE(receiver.bound());
  ServiceNotifier notifier(name, absl::ZeroDuration());
  ASSERT_TRUE(notifier.Notify("STOPPING=1").ok());
  EXPECT_EQ(receiver.Receive(), "STOPPING=1");
}

TEST(ServiceNotifier, DisabledWithoutASocketIsANoOp) {
  ServiceNotifier notifier("", absl::ZeroDuration());
  EXPECT_FALSE(notifier.enabled());
  EXPECT_TRUE(notifier.Notify("READY=1").ok());
}

TEST(ServiceNotifier, ASocketNobodyListensOnIsAnError) {
  ServiceNotifier notifier(absl::StrCat(::testing::TempDir(), "/no-such-socket"),
                           absl::ZeroDuration());
  EXPECT_FALSE(notifier.Notify("READY=1").ok());
  ServiceNotifier relative("relative/path", absl::ZeroDuration());
  EXPECT_FALSE(relative.Notify("READY=1").ok());
}

TEST(ServiceNotifier, ReadsTheWatchdogFromTheEnvironment) {
  ::setenv("NOTIFY_SOCKET", "@tern-env-test", 1);
  ::setenv("WATCHDOG_USEC", "3000000", 1);
  ::unsetenv("WATCHDOG_PID");
  EXPECT_EQ(ServiceNotifier::FromEnvironment().watchdog_interval(), absl::Seconds(3));
  ::setenv("WATCHDOG_PID", absl::StrCat(::getpid()).c_str(), 1);
  EXPECT_EQ(ServiceNotifier::FromEnvironment().watchdog_interval(), absl::Seconds(3));
  // Another process's watchdog (systemd passes it to the main process only).
  ::setenv("WATCHDOG_PID", absl::StrCat(::getpid() + 1).c_str(), 1);
  EXPECT_EQ(ServiceNotifier::FromEnvironment().watchdog_interval(), absl::ZeroDuration());
  ::unsetenv("WATCHDOG_PID");
  ::setenv("WATCHDOG_USEC", "junk", 1);
  EXPECT_EQ(ServiceNotifier::FromEnvironment().watchdog_interval(), absl::ZeroDuration());
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_FALSE(ServiceNotifier::FromEnvironment().enabled());
}

TEST(ServiceNotifier, ReloadingCarriesTheMonotonicClock) {
  const std::string state = ServiceNotifier::ReloadingState();
  EXPECT_EQ(state.rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u) << state;
  EXPECT_GT(state.size(), std::string("RELOADING=1\nMONOTONIC_USEC=").size());
}

}  // namespace
}  // namespace tern::core
