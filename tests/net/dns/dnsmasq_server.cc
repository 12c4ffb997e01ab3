// Implementation of tests/net/dns/dnsmasq_server.h.
#include "tests/net/dns/dnsmasq_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace tern::net::dns::testing {

namespace {

// Binds `port` on 127.0.0.1 with `type` (SOCK_DGRAM or SOCK_STREAM); port 0: any. Returns the
// port bound, or 0.
int TryBind(int type, int port) {
  int fd = socket(AF_INET, type, 0);
  if (fd < 0) return 0;
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sin.sin_port = htons(static_cast<uint16_t>(port));
  socklen_t len = sizeof(sin);
  int bound = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len) == 0) {
    bound = ntohs(sin.sin_port);
  }
  close(fd);
  return bound;
}

}  // namespace

// dnsmasq listens on UDP and TCP: the port must be free for both. Ports are drawn below the
// kernel's ephemeral range (32768 and up by default), where the outgoing connections of
// tests running in parallel take theirs; the kernel's choice is the fallback.
int DnsmasqServer::FreePort() {
  static thread_local uint32_t seed = static_cast<uint32_t>(getpid()) * 2654435761u ^
                                      static_cast<uint32_t>(absl::ToUnixNanos(absl::Now()));
  for (int i = 0; i < 200; ++i) {
    seed = seed * 1664525u + 1013904223u;
    const int port = 20000 + static_cast<int>((seed >> 8) % 12000);  // [20000, 32000)
    if (TryBind(SOCK_DGRAM, port) == port && TryBind(SOCK_STREAM, port) == port) return port;
  }
  return TryBind(SOCK_DGRAM, 0);
}

absl::Status DnsmasqServer::Start(const std::vector<std::string>& records) {
  if (access(kBinary, X_OK) != 0) {
    return absl::UnavailableError(absl::StrCat(kBinary, " not installed"));
  }
  // The free port is found with UDP, but dnsmasq also listens on TCP, where the same port
  // may be some other test's ephemeral port: try a few ports before giving up.
  absl::Status started;
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    started = StartOnce(records);
    if (started.ok() || !absl::IsInternal(started)) return started;
  }
  return started;
}

absl::Status DnsmasqServer::StartOnce(const std::vector<std::string>& records) {
  port_ = FreePort();
  if (port_ == 0) return absl::InternalError("no free port");
  std::vector<std::string> args = {kBinary,
                                   "--keep-in-foreground",
                                   "--no-daemon",
                                   absl::StrCat("--port=", port_),
                                   "--listen-address=127.0.0.1",
                                   "--bind-interfaces",
                                   "--no-resolv",
                                   "--no-hosts",
                                   "--conf-file=/dev/null",
                                   "--log-facility=/dev/null",
                                   "--pid-file="};
  args.insert(args.end(), records.begin(), records.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = fork();
  if (pid_ < 0) return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  if (pid_ == 0) {
    execv(kBinary, argv.data());
    _exit(127);
  }
  const absl::Time deadline = absl::Now() + absl::Milliseconds(kStartWaitMs);
  while (absl::Now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::InternalError(absl::StrCat("dnsmasq exited at start, status ", status));
    }
    if (Answers()) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(20));
  }
  Stop();
  return absl::DeadlineExceededError("dnsmasq did not answer");
}

void DnsmasqServer::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  const absl::Time deadline = absl::Now() + absl::Milliseconds(kStopWaitMs);
  while (absl::Now() < deadline) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

// Sends one query (". A") and waits briefly for any reply.
bool DnsmasqServer::Answers() const {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  timeval tv{0, 100 * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(static_cast<uint16_t>(port_));
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const unsigned char query[] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1};
  bool ok = false;
  if (sendto(fd, query, sizeof(query), 0, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) ==
      static_cast<ssize_t>(sizeof(query))) {
    unsigned char reply[512];
    ok = recv(fd, reply, sizeof(reply), 0) > 0;
  }
  close(fd);
  return ok;
}

}  // namespace tern::net::dns::testing
