// DnsmasqServer: a real DNS server for tests — dnsmasq in the foreground on a free loopback
// port, answering from the records given on its command line. Stopped (SIGTERM, bounded
// wait, then SIGKILL) by Stop() or the destructor.
//
//   DnsmasqServer dns;
//   absl::Status s = dns.Start({"--mx-host=example.test,mx1.example.test,10"});
//   if (absl::IsUnavailable(s)) GTEST_SKIP() << s;  // dnsmasq is not installed
//   options.servers = {dns.server()};  // "127.0.0.1:PORT"
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace tern::net::dns::testing {

class DnsmasqServer {
 public:
  static constexpr const char* kBinary = "/usr/sbin/dnsmasq";
  static constexpr int kStartAttempts = 5;
  static constexpr int kStartWaitMs = 5000;
  static constexpr int kStopWaitMs = 2000;

  DnsmasqServer() = default;
  ~DnsmasqServer() { Stop(); }
  DnsmasqServer(const DnsmasqServer&) = delete;
  DnsmasqServer& operator=(const DnsmasqServer&) = delete;

  // Starts dnsmasq with `records` (dnsmasq options) and waits until it answers. Unavailable
  // when dnsmasq is not installed.
  absl::Status Start(const std::vector<std::string>& records);
  void Stop();

  int port() const { return port_; }
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }

  // A loopback UDP port nothing listens on (bound, then closed).
  static int FreePort();

 private:
  absl::Status StartOnce(const std::vector<std::string>& records);
  bool Answers() const;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace tern::net::dns::testing
