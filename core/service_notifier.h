// The systemd notification protocol (sd_notify(3)) without libsystemd: one datagram of
// "KEY=VALUE\n" lines to the unix socket named by $NOTIFY_SOCKET (a path, or an abstract
// name written "@name"). Without $NOTIFY_SOCKET every call is a no-op, so programs call it
// unconditionally. Used by ternd for Type=notify: READY=1 once it serves, RELOADING=1 /
// READY=1 around a reload, STOPPING=1 when it stops, WATCHDOG=1 while its shards are alive.
//
//   ServiceNotifier notifier = ServiceNotifier::FromEnvironment();
//   notifier.Notify("READY=1\nSTATUS=serving on 0.0.0.0:25");
//   if (notifier.watchdog_interval() > absl::ZeroDuration()) ... ping every interval / 2
//
// Thread-safe: Notify may be called from any thread (one sendto per call).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tern::core {

class ServiceNotifier {
 public:
  // From $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID (the watchdog is ours only when
  // WATCHDOG_PID is unset or our pid). The socket is opened here, before privileges drop.
  static ServiceNotifier FromEnvironment();
  // `socket_name` empty: disabled. `watchdog_interval` zero: no watchdog requested.
  ServiceNotifier(std::string socket_name, absl::Duration watchdog_interval);
  ~ServiceNotifier();
  ServiceNotifier(ServiceNotifier&& other) noexcept;
  ServiceNotifier& operator=(ServiceNotifier&&) = delete;
  ServiceNotifier(const ServiceNotifier&) = delete;
  ServiceNotifier& operator=(const ServiceNotifier&) = delete;

  bool enabled() const { return fd_ >= 0; }
  // The service manager's watchdog timeout (WATCHDOG_USEC); ping at half of it.
  absl::Duration watchdog_interval() const { return watchdog_interval_; }

  // Sends `state` (newline-separated assignments) as one datagram. OK when disabled.
  absl::Status Notify(absl::string_view state) const;

  // "RELOADING=1\nMONOTONIC_USEC=<now>" as systemd wants it before a reload.
  static std::string ReloadingState();

 private:
  std::string socket_name_;
  absl::Duration watchdog_interval_;
  int fd_ = -1;
};

}  // namespace tern::core
