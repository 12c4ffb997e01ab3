// `ternd --check_config`: verifies the configuration the flags describe without starting the
// relay, as an operator wants before a restart (Postfix's `postfix check`). Every check runs
// and every problem is reported, one line each on stderr, naming the flag:
//
//   ternd: config: --tls_key=/etc/tern/key.pem: private key ... does not match ...
//   ternd: config: --listen=0.0.0.0:25: bind 0.0.0.0:25: in use by another program (...)
//   ternd: config: --auth_users_file: /etc/tern/users:7: want user:hash[:senders]
//   ternd: warning: --tls_cert=/etc/tern/cert.pem: certificate expires in 9 days, on ...
//   ternd: info: --spool_dir=/var/spool/tern: spool in use by pid 1234 (...)
//   ternd: 3 problem(s) found                                  (exit 1)
//   ternd: configuration OK (2 listeners, admin ..., ...)      (stdout, exit 0)
//
// Warnings and info lines never fail the check. Nothing is started, created, locked or
// written: addresses are bound and closed at once (SO_REUSEPORT and never listening, so a
// running ternd on them is neither disturbed nor a problem); whether a ternd holds the spool
// is read from /proc/locks, the lock is never taken.
//
//   if (absl::GetFlag(FLAGS_check_config)) return RunConfigCheck(stdout, stderr);
//
// Each Check* function below is one check; those without arguments read the flags they
// are named for. BuildDaemonConfig (what ternd itself refuses to start with) runs last: its
// first error is reported unless a check here already reported a problem with that flag.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "net/listen_socket.h"
#include "net/tls/certificate_validity.h"

namespace tern::tools::ternd {

// A certificate that expires sooner than this is a warning.
inline constexpr absl::Duration kCertificateExpiryWarning = absl::Hours(14 * 24);

enum class Severity { kProblem, kWarning, kInfo };

struct Finding {
  Severity severity = Severity::kProblem;
  std::string what;  // the flag, usually with its value: "--tls_cert=/etc/tern/cert.pem"
  std::string why;
};

// The findings of the checks, in the order they were made.
class ConfigReport {
 public:
  void Problem(std::string what, std::string why);
  void Warning(std::string what, std::string why);
  void Info(std::string what, std::string why);

  const std::vector<Finding>& findings() const { return findings_; }
  int problem_count() const;
  // Whether a problem names --`flag` (its `what` starts with "--flag", "--flag=" or
  // "--flag/--other").
  bool HasProblemWith(absl::string_view flag) const;

 private:
  std::vector<Finding> findings_;
};

// "ternd: config: WHAT: WHY", "ternd: warning: WHAT: WHY" or "ternd: info: WHAT: WHY".
std::string FormatFinding(const Finding& finding);

// Runs every check on the parsed flags, prints the findings to `err` and the verdict, and
// returns the exit code: 0 (verdict on `out`) or 1 when a problem was found (on `err`).
int RunConfigCheck(std::FILE* out, std::FILE* err);

// --- The checks -----------------------------------------------------------------------

void CheckLogLevel(ConfigReport* report);
// --listen, --submission_listen, --smtps_listen, --admin_listen: each parses and can be
// bound now (ProbeListenAddress), and no address is given twice.
void CheckListenAddresses(ConfigReport* report);
// --tls_cert/--tls_key: readable, parse, match (TlsContext::CreateServer), not expired.
void CheckTlsFiles(absl::Time now, ConfigReport* report);
// --smtps_listen and --auth_users_file need --tls_cert.
void CheckTlsNeeded(ConfigReport* report);
// --admin_token_file: a secret file (not accessible by others) holding one token;
// --admin_listen beyond loopback needs it.
void CheckAdminAccess(ConfigReport* report);
// --auth_users_file: readable, every line parses (each bad line named).
void CheckAuthUsersFile(ConfigReport* report);
// With --deliver: every --dkim_key is a readable, usable key; --route and --smarthost parse;
// --dns_servers parse, or `resolv_conf` is readable when none is given.
void CheckDkimKeys(ConfigReport* report);
void CheckRoutes(ConfigReport* report);
void CheckDnsServers(const std::string& resolv_conf, ConfigReport* report);
// --user exists, is not root, and can be switched to (ternd started as root or as it).
void CheckUser(ConfigReport* report);
// --spool_dir: a directory the effective user can write (or can be created); whether a
// running ternd holds it (info, read from `proc_locks`, e.g. "/proc/locks").
void CheckSpoolDir(const std::string& proc_locks, ConfigReport* report);
// --delivery_log: writable, or its directory can be created.
void CheckDeliveryLog(ConfigReport* report);
// --shaping: the policy file reads, and every source it names is an --egress_source; each
// problem is its own finding ("--shaping=FILE", "FILE:LINE: KEY: what").
void CheckShaping(ConfigReport* report);
// --webhook_secret_file readable and not empty, --webhook_ca_file holds certificates (the
// URL and the numbers are checked by BuildDaemonConfig).
void CheckWebhook(ConfigReport* report);
// --shards beyond the CPUs ternd may run on (warning).
void CheckShards(int allowed_cpus, ConfigReport* report);
// What BuildDaemonConfig refused, unless already reported for the flag its error names.
void ReportDaemonConfigError(const absl::Status& error, ConfigReport* report);

// --- Pieces of the checks without side effects ----------------------------------------

// Expired, not yet valid (problems) or expiring within kCertificateExpiryWarning (warning),
// for each certificate of a chain; the dates are named.
void CheckCertificateDates(absl::string_view what,
                           const std::vector<net::tls::CertificateValidity>& chain, absl::Time now,
                           ConfigReport* report);

struct NamedAddress {
  std::string what;  // "--listen=127.0.0.1:25"
  net::SocketAddress address;
};
// The same address and port given twice (problem; port 0 is a fresh port each time), or a
// port given on the wildcard address and on a specific one (warning: the specific one gets
// that address's connections).
void CheckAddressOverlaps(const std::vector<NamedAddress>& addresses, ConfigReport* report);

// A --dns_servers entry: "IP", "IP:PORT", "[IPv6]" or "[IPv6]:PORT".
absl::Status ParseDnsServer(absl::string_view text);

// The pid holding a FLOCK on the file (device major:minor, inode) in /proc/locks' text.
std::optional<pid_t> FlockHolderPid(absl::string_view proc_locks, unsigned dev_major,
                                    unsigned dev_minor, uint64_t inode);

// The flags a text starts with: "--route/--smarthost: ..." -> {"route", "smarthost"},
// "--listen=127.0.0.1:25" -> {"listen"}; none when it does not start with "--".
std::vector<std::string> FlagsNamedIn(absl::string_view text);

}  // namespace tern::tools::ternd
