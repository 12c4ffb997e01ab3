// `ternd --check_config`: every check of the configuration and the report (behaviour:
// tools/ternd/check_config.h).
#include "tools/ternd/check_config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/log.h"
#include "delivery/dkim_signer.h"
#include "delivery/route_table.h"
#include "delivery/source_bind_check.h"
#include "events/webhook_sender.h"
#include "net/admin_access.h"
#include "net/admin_token.h"
#include "net/smtp/auth_users.h"
#include "net/tls/tls_context.h"
#include "queue/shaping_policy_file.h"
#include "spool/spool_lock.h"
#include "tools/ternd/daemon_config.h"
#include "tools/ternd/delivery_reload.h"
#include "tools/ternd/egress_flags.h"
#include "tools/ternd/flags.h"
#include "tools/ternd/shaping_setup.h"

namespace tern::tools::ternd {
namespace {

constexpr char kResolvConf[] = "/etc/resolv.conf";
constexpr char kProcLocks[] = "/proc/locks";
// Bounds on what is read: /proc/locks of a busy host, a users file, resolv.conf, a pid.
constexpr size_t kProcLocksBytesMax = 4 << 20;
constexpr size_t kUsersFileBytesMax = 16 << 20;
constexpr size_t kResolvConfBytesMax = 1 << 20;
constexpr size_t kPidBytesMax = 32;
// Top-level spool entries looked at (shard-N folders and the lock file).
constexpr int kSpoolEntriesMax = 1024;

std::string Flag(absl::string_view name, absl::string_view value) {
  return absl::StrCat("--", name, "=", value);
}

// "uid 1000 (tern)": who the file checks are made for.
std::string EffectiveUser() {
  const uid_t uid = ::geteuid();
  passwd entry{};
  passwd* found = nullptr;
  char buffer[4096];
  if (::getpwuid_r(uid, &entry, buffer, sizeof(buffer), &found) == 0 && found != nullptr) {
    return absl::StrCat("uid ", uid, " (", entry.pw_name, ")");
  }
  return absl::StrCat("uid ", uid);
}

// OK when the effective user may access `path` with `mode` (R_OK, W_OK | X_OK, ...), which
// `adjective` names ("readable"). Root included: a read-only file system still says EROFS.
absl::Status Access(const std::string& path, int mode, absl::string_view adjective) {
  if (::faccessat(AT_FDCWD, path.c_str(), mode, AT_EACCESS) == 0) return absl::OkStatus();
  const int error = errno;
  if (error == ENOENT) {
    return absl::NotFoundError(absl::StrCat("does not exist (", strerror(error), ")"));
  }
  return absl::PermissionDeniedError(
      absl::StrCat("not ", adjective, " by ", EffectiveUser(), " (", strerror(error), ")"));
}

// `path` does not exist: OK when create_directories (what ternd does) could make it, that
// is when its nearest existing ancestor is a directory the effective user can write in.
// Returns that ancestor.
absl::StatusOr<std::string> CreatableIn(const std::filesystem::path& path) {
  std::filesystem::path ancestor = path.parent_path();
  // Bounded by the path's components: parent_path() shortens it each time.
  while (true) {
    const std::string text = ancestor.empty() ? "." : ancestor.string();
    struct stat st {};
    if (::stat(text.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) {
        return absl::FailedPreconditionError(
            absl::StrCat("cannot be created: ", text, " is not a directory"));
      }
      if (::faccessat(AT_FDCWD, text.c_str(), W_OK | X_OK, AT_EACCESS) != 0) {
        // Read before EffectiveUser(), whose getpwuid_r may change errno.
        const int error = errno;
        return absl::PermissionDeniedError(absl::StrCat("cannot be created: ", text,
                                                        " is not writable by ", EffectiveUser(),
                                                        " (", strerror(error), ")"));
      }
      return text;
    }
    if (errno != ENOENT && errno != ENOTDIR) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot be created: ", text, ": ", strerror(errno)));
    }
    if (ancestor.empty() || ancestor == ancestor.parent_path()) {
      return absl::FailedPreconditionError("cannot be created: no existing parent directory");
    }
    ancestor = ancestor.parent_path();
  }
}

// The whole file; an error when it is larger than `bytes_max`.
absl::StatusOr<std::string> ReadSmallFile(const std::string& path, size_t bytes_max) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path, ": ", strerror(errno)));
  std::string text;
  char chunk[64 * 1024];
  // Bounded by bytes_max.
  while (text.size() < bytes_max) {
    in.read(chunk, static_cast<std::streamsize>(std::min(sizeof(chunk), bytes_max - text.size())));
    if (in.gcount() <= 0) break;
    text.append(chunk, static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat("reading ", path, ": I/O error"));
  if (text.size() == bytes_max && in.peek() != std::ifstream::traits_type::eof()) {
    return absl::ResourceExhaustedError(
        absl::StrCat(path, " is larger than ", bytes_max, " bytes"));
  }
  return text;
}

int AllowedCpuCount() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
  return std::max(1, CPU_COUNT(&set));
}

bool IsWildcard(const net::SocketAddress& address) {
  return net::FormatIpAddress(address.storage) ==
         (address.storage.ss_family == AF_INET6 ? "::" : "0.0.0.0");
}

// The pid a ternd wrote into its lock file; 0 when none.
pid_t PidInLockFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadSmallFile(path, kPidBytesMax);
  pid_t pid = 0;
  if (!text.ok() || !absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &pid)) return 0;
  return pid;
}

std::string SummaryLine(const DaemonConfig& config, int shards) {
  std::vector<std::string> parts;
  parts.push_back(
      absl::StrCat(config.listeners.size(), " listener", config.listeners.size() == 1 ? "" : "s"));
  parts.push_back(config.admin.has_value()
                      ? absl::StrCat("admin ", net::FormatSocketAddress(config.admin->storage))
                      : "admin off");
  if (config.delivery != nullptr) {
    const size_t routes = config.delivery->routes.size();
    parts.push_back(absl::StrCat(routes, " route", routes == 1 ? "" : "s"));
    const std::string smarthost = absl::GetFlag(FLAGS_smarthost);
    parts.push_back(smarthost.empty() ? "MX delivery" : absl::StrCat("smarthost ", smarthost));
    const size_t dkim = absl::GetFlag(FLAGS_dkim_key).size();
    if (dkim > 0) parts.push_back(absl::StrCat(dkim, " DKIM key", dkim == 1 ? "" : "s"));
  } else {
    parts.push_back("delivery off");
  }
  parts.push_back(config.tls != nullptr ? "TLS on" : "TLS off");
  parts.push_back(config.auth != nullptr ? "AUTH on" : "AUTH off");
  if (!config.shaping_file.empty()) {
    parts.push_back(absl::StrCat("shaping ", config.shaping_file, " (",
                                 config.shaping->policy()->block_count(), " blocks)"));
  }
  parts.push_back(absl::StrCat(shards, " shard", shards == 1 ? "" : "s"));
  parts.push_back(absl::StrCat("spool ", config.spool_dir));
  parts.push_back(
      absl::StrCat("segment prefill ",
                   config.segment_prefill == spool::SegmentPrefill::kZero ? "zero" : "fallocate"));
  return absl::StrJoin(parts, ", ");
}

}  // namespace

// --- ConfigReport ---------------------------------------------------------------------

void ConfigReport::Problem(std::string what, std::string why) {
  findings_.push_back({Severity::kProblem, std::move(what), std::move(why)});
}

void ConfigReport::Warning(std::string what, std::string why) {
  findings_.push_back({Severity::kWarning, std::move(what), std::move(why)});
}

void ConfigReport::Info(std::string what, std::string why) {
  findings_.push_back({Severity::kInfo, std::move(what), std::move(why)});
}

int ConfigReport::problem_count() const {
  int n = 0;
  for (const Finding& finding : findings_) n += finding.severity == Severity::kProblem ? 1 : 0;
  return n;
}

bool ConfigReport::HasProblemWith(absl::string_view flag) const {
  for (const Finding& finding : findings_) {
    if (finding.severity != Severity::kProblem) continue;
    for (const std::string& named : FlagsNamedIn(finding.what)) {
      if (named == flag) return true;
    }
  }
  return false;
}

std::string FormatFinding(const Finding& finding) {
  absl::string_view kind = "config";
  if (finding.severity == Severity::kWarning) kind = "warning";
  if (finding.severity == Severity::kInfo) kind = "info";
  return absl::StrCat("ternd: ", kind, ": ", finding.what, ": ", finding.why);
}

// --- The checks -----------------------------------------------------------------------

void CheckLogLevel(ConfigReport* report) {
  // The levels RunDaemon's --log_level accepts.
  const std::string level = absl::GetFlag(FLAGS_log_level);
  for (absl::string_view known : {"debug", "info", "warning", "error"}) {
    if (level == known) return;
  }
  report->Problem(Flag("log_level", level), "unknown level: want debug, info, warning or error");
}

void CheckListenAddresses(ConfigReport* report) {
  std::vector<std::pair<const char*, std::vector<std::string>>> flags = {
      {"listen", absl::GetFlag(FLAGS_listen)},
      {"submission_listen", absl::GetFlag(FLAGS_submission_listen)},
      {"smtps_listen", absl::GetFlag(FLAGS_smtps_listen)},
      {"admin_listen", {}},
  };
  const std::string admin = absl::GetFlag(FLAGS_admin_listen);
  if (!admin.empty()) flags.back().second.push_back(admin);
  std::vector<NamedAddress> addresses;
  for (const auto& [flag, values] : flags) {
    for (const std::string& text : values) {
      const std::string what = Flag(flag, text);
      absl::StatusOr<net::SocketAddress> address = net::ParseSocketAddress(text);
      if (!address.ok()) {
        report->Problem(what, std::string(address.status().message()));
        continue;
      }
      if (absl::Status bindable = net::ProbeListenAddress(*address); !bindable.ok()) {
        report->Problem(what, std::string(bindable.message()));
      }
      addresses.push_back({what, *address});
    }
  }
  CheckAddressOverlaps(addresses, report);
}

void CheckTlsFiles(absl::Time now, ConfigReport* report) {
  const std::string cert = absl::GetFlag(FLAGS_tls_cert);
  const std::string key = absl::GetFlag(FLAGS_tls_key);
  if (cert.empty() && key.empty()) return;
  if (cert.empty() || key.empty()) {
    // Named as BuildDaemonConfig names it: the one missing.
    report->Problem(cert.empty() ? "--tls_cert" : "--tls_key",
                    cert.empty() ? "not set, but --tls_key is: they go together"
                                 : "not set, but --tls_cert is: they go together");
    return;
  }
  bool readable = true;
  for (const auto& [flag, path] : {std::pair{"tls_cert", cert}, std::pair{"tls_key", key}}) {
    if (absl::Status read = Access(path, R_OK, "readable"); !read.ok()) {
      report->Problem(Flag(flag, path), std::string(read.message()));
      readable = false;
    }
  }
  if (!readable) return;
  absl::StatusOr<std::vector<net::tls::CertificateValidity>> chain =
      net::tls::ReadCertificateChain(cert);
  if (!chain.ok()) {
    report->Problem(Flag("tls_cert", cert), std::string(chain.status().message()));
    return;
  }
  // Before the key is read, as ternd does: its secrets then stay out of core dumps.
  if (absl::Status heap = net::tls::InitSecureHeap(); !heap.ok()) {
    report->Warning(Flag("tls_key", key), std::string(heap.message()));
  }
  auto context = net::tls::TlsContext::CreateServer({.cert_file = cert, .key_file = key});
  if (!context.ok()) {
    // The certificate alone parsed: what fails now is its chain as OpenSSL loads it
    // ("reading certificate ..."), or the key (unreadable, or not the certificate's).
    const bool certificate = absl::StartsWith(context.status().message(), "reading certificate");
    report->Problem(certificate ? Flag("tls_cert", cert) : Flag("tls_key", key),
                    std::string(context.status().message()));
  }
  CheckCertificateDates(Flag("tls_cert", cert), *chain, now, report);
}

void CheckTlsNeeded(ConfigReport* report) {
  if (!absl::GetFlag(FLAGS_tls_cert).empty()) return;
  for (const std::string& address : absl::GetFlag(FLAGS_smtps_listen)) {
    report->Problem(Flag("smtps_listen", address), "needs --tls_cert and --tls_key");
  }
  const std::string users = absl::GetFlag(FLAGS_auth_users_file);
  if (!users.empty()) {
    report->Problem(Flag("auth_users_file", users),
                    "AUTH is offered under TLS only: set --tls_cert and --tls_key");
  }
}

void CheckAdminAccess(ConfigReport* report) {
  const std::string token_file = absl::GetFlag(FLAGS_admin_token_file);
  bool has_token = false;
  if (!token_file.empty()) {
    absl::StatusOr<std::string> token = net::LoadAdminToken(token_file);
    if (!token.ok()) {
      report->Problem(Flag("admin_token_file", token_file), std::string(token.status().message()));
    }
    // A token that is there but refused is reported once, above.
    has_token = true;
  }
  const std::string admin = absl::GetFlag(FLAGS_admin_listen);
  if (admin.empty() || has_token) return;
  absl::StatusOr<net::SocketAddress> address = net::ParseSocketAddress(admin);
  if (!address.ok() || net::IsLoopbackAddress(*address)) return;  // a bad one: reported already
  report->Problem(Flag("admin_listen", admin),
                  "beyond loopback the admin endpoint needs --admin_token_file (a bearer token "
                  "every client must send), or listen on 127.0.0.1 or ::1");
}

void CheckAuthUsersFile(ConfigReport* report) {
  const std::string path = absl::GetFlag(FLAGS_auth_users_file);
  if (path.empty()) return;
  absl::StatusOr<std::string> text = ReadSmallFile(path, kUsersFileBytesMax);
  if (!text.ok()) {
    report->Problem(Flag("auth_users_file", path), std::string(text.status().message()));
    return;
  }
  // "FILE:LINE: why", the way compilers name a line.
  for (std::string& problem : net::smtp::AuthUsers::FindProblems(*text, path)) {
    report->Problem("--auth_users_file", std::move(problem));
  }
}

void CheckDkimKeys(ConfigReport* report) {
  if (!absl::GetFlag(FLAGS_deliver)) return;  // keys are loaded for delivery only
  for (const std::string& value : absl::GetFlag(FLAGS_dkim_key)) {
    for (absl::string_view spec : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
      auto signer = delivery::DkimSigner::Create({std::string(spec)});
      if (signer.ok()) continue;
      // DkimSigner's errors start with the spec, which the line names already.
      absl::string_view why = signer.status().message();
      absl::ConsumePrefix(&why, absl::StrCat("'", spec, "': "));
      report->Problem(Flag("dkim_key", spec), std::string(why));
    }
  }
}

void CheckEgress(ConfigReport* report) {
  auto egress = delivery::EgressConfig::Parse(EgressFlagsFromCommandLine());
  if (!egress.ok()) {
    // "--egress_pool=VALUE: why" -> what "--egress_pool=VALUE", why "why".
    const std::vector<std::string> parts =
        absl::StrSplit(egress.status().message(), absl::MaxSplits(": ", 1));
    report->Problem(parts[0], parts.size() > 1 ? parts[1] : "");
    return;
  }
  for (const std::string& warning : (*egress)->warnings()) {
    const std::vector<std::string> parts = absl::StrSplit(warning, absl::MaxSplits(": ", 1));
    report->Warning(parts[0], parts.size() > 1 ? parts[1] : "");
  }
  for (const delivery::EgressSource& source : (*egress)->sources()) {
    if (absl::Status bindable = delivery::CheckSourceBindable(source); !bindable.ok()) {
      report->Problem(Flag("egress_source",
                           absl::StrCat(source.name, "=", net::FormatIpAddress(source.address))),
                      std::string(bindable.message()));
    }
  }
  // A users file's pool=NAME must name a pool too (found at reception otherwise: 554 5.3.0).
  const std::string users_path = absl::GetFlag(FLAGS_auth_users_file);
  if (users_path.empty()) return;
  absl::StatusOr<std::string> text = ReadSmallFile(users_path, kUsersFileBytesMax);
  if (!text.ok()) return;  // CheckAuthUsersFile says why
  for (const std::string& pool : net::smtp::AuthUsers::FindPoolNames(*text, users_path)) {
    if ((*egress)->FindPool(pool) == nullptr) {
      report->Problem(Flag("auth_users_file", users_path),
                      absl::StrCat("pool=", pool, " is no --egress_pool"));
    }
  }
}

void CheckShaping(ConfigReport* report) {
  const std::string path = absl::GetFlag(FLAGS_shaping);
  if (path.empty()) return;
  absl::Status problems;
  if (auto egress = delivery::EgressConfig::Parse(EgressFlagsFromCommandLine()); egress.ok()) {
    problems = ReadShapingPolicyFile(path, **egress).status();
  } else {
    // The egress flags are reported by CheckEgress; the file is read without its sources.
    problems = queue::LoadShapingPolicy(path).status();
  }
  for (std::string& line : ProblemLines(problems)) {
    report->Problem(Flag("shaping", path), std::move(line));
  }
}

void CheckBounceRules(ConfigReport* report) {
  const std::string path = absl::GetFlag(FLAGS_bounce_rules);
  if (path.empty()) return;
  for (std::string& line : ProblemLines(ReadBounceClassifier(path).status())) {
    report->Problem(Flag("bounce_rules", path), std::move(line));
  }
}

void CheckWebhook(ConfigReport* report) {
  if (absl::GetFlag(FLAGS_webhook).empty()) return;
  const std::string secret_file = absl::GetFlag(FLAGS_webhook_secret_file);
  if (!secret_file.empty()) {
    if (absl::StatusOr<std::string> secret = events::ReadWebhookSecret(secret_file); !secret.ok()) {
      report->Problem(Flag("webhook_secret_file", secret_file),
                      std::string(secret.status().message()));
    }
  }
  const std::string ca_file = absl::GetFlag(FLAGS_webhook_ca_file);
  if (!ca_file.empty()) {
    SSL_CTX* context = SSL_CTX_new(TLS_client_method());
    if (context != nullptr &&
        SSL_CTX_load_verify_locations(context, ca_file.c_str(), nullptr) != 1) {
      report->Problem(Flag("webhook_ca_file", ca_file), "no PEM certificate could be loaded");
    }
    SSL_CTX_free(context);
  }
}

void CheckRoutes(ConfigReport* report) {
  if (!absl::GetFlag(FLAGS_deliver)) return;  // routes are read for delivery only
  const std::vector<std::string> routes = absl::GetFlag(FLAGS_route);
  const std::string smarthost = absl::GetFlag(FLAGS_smarthost);
  bool each_ok = true;
  for (const std::string& value : routes) {
    for (absl::string_view route : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
      auto table = delivery::RouteTable::Create({std::string(route)}, "");
      if (!table.ok()) {
        report->Problem(Flag("route", route), std::string(table.status().message()));
        each_ok = false;
      }
    }
  }
  if (!smarthost.empty()) {
    auto table = delivery::RouteTable::Create({}, smarthost);
    if (!table.ok()) {
      report->Problem(Flag("smarthost", smarthost), std::string(table.status().message()));
      each_ok = false;
    }
  }
  // Entries fine one by one can still clash (a domain routed twice, say).
  if (each_ok) {
    auto table = delivery::RouteTable::Create(routes, smarthost);
    if (!table.ok()) report->Problem("--route", std::string(table.status().message()));
  }
}

void CheckDnsServers(const std::string& resolv_conf, ConfigReport* report) {
  if (!absl::GetFlag(FLAGS_deliver)) return;  // DNS is asked for delivery only
  const std::vector<std::string> servers = absl::GetFlag(FLAGS_dns_servers);
  for (const std::string& value : servers) {
    for (absl::string_view server : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
      if (absl::Status parsed = ParseDnsServer(server); !parsed.ok()) {
        report->Problem(Flag("dns_servers", server), std::string(parsed.message()));
      }
    }
  }
  if (!servers.empty()) return;
  absl::StatusOr<std::string> text = ReadSmallFile(resolv_conf, kResolvConfBytesMax);
  if (!text.ok()) {
    report->Problem("--dns_servers", absl::StrCat("not set, and ", text.status().message()));
    return;
  }
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    if (absl::StartsWith(absl::StripLeadingAsciiWhitespace(line), "nameserver")) return;
  }
  report->Warning("--dns_servers", absl::StrCat("not set, and ", resolv_conf,
                                                " names no nameserver: lookups go to 127.0.0.1"));
}

void CheckUser(ConfigReport* report) {
  const std::string user = absl::GetFlag(FLAGS_user);
  if (user.empty()) {
    if (::geteuid() == 0) {
      report->Warning("--user", "not set: ternd would run as root; name an unprivileged user");
    }
    return;
  }
  // As DropPrivileges will decide (tools/ternd/privileges.h).
  passwd entry{};
  passwd* found = nullptr;
  char buffer[4096];
  if (::getpwnam_r(user.c_str(), &entry, buffer, sizeof(buffer), &found) != 0 || found == nullptr) {
    report->Problem(Flag("user", user), "unknown user");
    return;
  }
  if (entry.pw_uid == 0) {
    report->Problem(Flag("user", user), "is root; name an unprivileged user");
  } else if (::geteuid() != 0 && ::geteuid() != entry.pw_uid) {
    report->Problem(Flag("user", user), absl::StrCat("needs ternd to be started as root (this is ",
                                                     EffectiveUser(), ")"));
  }
}

void CheckSpoolDir(const std::string& proc_locks, ConfigReport* report) {
  const std::string spool = absl::GetFlag(FLAGS_spool_dir);
  if (spool.empty()) return;  // BuildDaemonConfig: must not be empty
  const std::string what = Flag("spool_dir", spool);
  struct stat st {};
  if (::stat(spool.c_str(), &st) != 0) {
    if (errno != ENOENT && errno != ENOTDIR) {
      report->Problem(what, strerror(errno));
      return;
    }
    absl::StatusOr<std::string> parent = CreatableIn(spool);
    if (!parent.ok()) {
      report->Problem(what, std::string(parent.status().message()));
    } else {
      report->Info(what, absl::StrCat("does not exist yet: ternd will create it in ", *parent));
    }
    return;
  }
  if (!S_ISDIR(st.st_mode)) {
    report->Problem(what, "is not a directory");
    return;
  }
  // Started as root, ternd hands the spool to --user (or keeps it): only a read-only file
  // system stops it. Otherwise its own files must be writable too.
  if (absl::Status writable = Access(spool, W_OK | X_OK, "writable"); !writable.ok()) {
    report->Problem(what, std::string(writable.message()));
  } else if (::geteuid() != 0) {
    std::error_code error;
    int seen = 0;
    for (auto it = std::filesystem::directory_iterator(spool, error);
         !error && it != std::filesystem::directory_iterator() && seen < kSpoolEntriesMax;
         it.increment(error), ++seen) {
      const std::string entry = it->path().string();
      std::error_code type_error;
      const int mode = it->is_directory(type_error) ? W_OK | X_OK : W_OK;
      if (absl::Status ok = Access(entry, mode, "writable"); !ok.ok()) {
        report->Problem(what, absl::StrCat(entry, ": ", ok.message()));
        break;  // one is enough to say the spool belongs to someone else
      }
    }
  }
  // Read-only: never take the lock (a starting ternd would then find it taken).
  const std::string lock = absl::StrCat(spool, "/", spool::kSpoolLockFileName);
  struct stat lock_stat {};
  if (::stat(lock.c_str(), &lock_stat) != 0) return;
  absl::StatusOr<std::string> locks = ReadSmallFile(proc_locks, kProcLocksBytesMax);
  if (!locks.ok()) return;
  std::optional<pid_t> holder =
      FlockHolderPid(*locks, major(lock_stat.st_dev), minor(lock_stat.st_dev), lock_stat.st_ino);
  if (!holder.has_value()) return;
  // The lock file names its holder; /proc/locks may show another pid namespace's view.
  const pid_t written = PidInLockFile(lock);
  const pid_t pid = written > 0 ? written : *holder;
  report->Info(what, absl::StrCat("spool in use by pid ", pid,
                                  " (a running ternd: it must stop before another can start "
                                  "on this spool)"));
}

void CheckDeliveryLog(ConfigReport* report) {
  const std::string log = absl::GetFlag(FLAGS_delivery_log);
  if (log.empty()) return;
  const std::string what = Flag("delivery_log", log);
  struct stat st {};
  if (::stat(log.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      report->Problem(what, "is a directory");
    } else if (absl::Status writable = Access(log, W_OK, "writable"); !writable.ok()) {
      report->Problem(what, std::string(writable.message()));
    }
    return;
  }
  if (errno != ENOENT && errno != ENOTDIR) {
    report->Problem(what, strerror(errno));
    return;
  }
  if (absl::StatusOr<std::string> parent = CreatableIn(log); !parent.ok()) {
    report->Problem(what, std::string(parent.status().message()));
  }
}

void CheckShards(int allowed_cpus, ConfigReport* report) {
  const int shards = absl::GetFlag(FLAGS_shards);
  if (shards > allowed_cpus) {
    report->Warning(Flag("shards", absl::StrCat(shards)),
                    absl::StrCat("more shards than the ", allowed_cpus,
                                 " CPUs ternd may run on: shards will share cores"));
  }
}

void ReportDaemonConfigError(const absl::Status& error, ConfigReport* report) {
  if (error.ok()) return;
  const std::vector<std::string> flags = FlagsNamedIn(error.message());
  if (flags.empty()) {
    report->Problem("configuration", std::string(error.message()));
    return;
  }
  for (const std::string& flag : flags) {
    if (report->HasProblemWith(flag)) return;
  }
  // "--route/--smarthost: why" -> what "--route/--smarthost", why "why".
  const std::vector<std::string> parts = absl::StrSplit(error.message(), absl::MaxSplits(": ", 1));
  report->Problem(parts[0], parts.size() > 1 ? parts[1] : "");
}

// --- Pieces ---------------------------------------------------------------------------

void CheckCertificateDates(absl::string_view what,
                           const std::vector<net::tls::CertificateValidity>& chain, absl::Time now,
                           ConfigReport* report) {
  for (size_t i = 0; i < chain.size(); ++i) {
    const net::tls::CertificateValidity& cert = chain[i];
    const std::string name = i == 0 ? "certificate" : absl::StrCat("chain certificate ", i + 1);
    const std::string subject = cert.subject.empty() ? "" : absl::StrCat(" (", cert.subject, ")");
    const std::string not_after = net::tls::FormatCertificateTime(cert.not_after);
    if (now >= cert.not_after) {
      report->Problem(std::string(what),
                      absl::StrCat(name, subject, " expired on ", not_after, " (notAfter)"));
    } else if (now < cert.not_before) {
      report->Problem(
          std::string(what),
          absl::StrCat(name, subject, " is not valid before ",
                       net::tls::FormatCertificateTime(cert.not_before), " (notBefore)"));
    } else if (cert.not_after - now < kCertificateExpiryWarning) {
      const int64_t days = absl::ToInt64Hours(cert.not_after - now) / 24;
      report->Warning(std::string(what),
                      absl::StrCat(name, subject, " expires in ", days, " day",
                                   days == 1 ? "" : "s", ", on ", not_after, " (notAfter)"));
    }
  }
}

void CheckAddressOverlaps(const std::vector<NamedAddress>& addresses, ConfigReport* report) {
  for (size_t i = 0; i < addresses.size(); ++i) {
    const net::SocketAddress& a = addresses[i].address;
    if (a.port() == 0) continue;  // a fresh port each time
    for (size_t j = 0; j < i; ++j) {
      const net::SocketAddress& b = addresses[j].address;
      if (b.port() != a.port() || b.storage.ss_family != a.storage.ss_family) continue;
      // SO_REUSEPORT would let ternd bind both: the kernel would then spread one port's
      // connections over two listeners.
      if (net::FormatIpAddress(a.storage) == net::FormatIpAddress(b.storage)) {
        report->Problem(addresses[i].what, absl::StrCat("same address as ", addresses[j].what));
        break;
      }
      if (IsWildcard(a) != IsWildcard(b)) {
        report->Warning(addresses[i].what,
                        absl::StrCat("overlaps ", addresses[j].what,
                                     ": connections to the specific address go to its "
                                     "listener only"));
      }
    }
  }
}

absl::Status ParseDnsServer(absl::string_view text) {
  auto bad = [](absl::string_view why) { return absl::InvalidArgumentError(why); };
  absl::string_view host = text;
  std::optional<absl::string_view> port;
  if (absl::ConsumePrefix(&host, "[")) {
    const size_t close = host.find(']');
    if (close == absl::string_view::npos) return bad("no closing ']'");
    absl::string_view rest = host.substr(close + 1);
    host = host.substr(0, close);
    if (!rest.empty()) {
      if (!absl::ConsumePrefix(&rest, ":")) return bad("want [IPv6]:PORT");
      port = rest;
    }
    if (host.find(':') == absl::string_view::npos) return bad("brackets are for IPv6 addresses");
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    const size_t colon = text.find(':');
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  in6_addr address{};
  const std::string host_text(host);
  if (::inet_pton(AF_INET, host_text.c_str(), &address) != 1 &&
      ::inet_pton(AF_INET6, host_text.c_str(), &address) != 1) {
    return bad("not an IP address (IP, IP:PORT, [IPv6]:PORT)");
  }
  uint32_t number = 0;
  if (port.has_value() && (!absl::SimpleAtoi(*port, &number) || number == 0 || number > 65535)) {
    return bad("bad port");
  }
  return absl::OkStatus();
}

std::optional<pid_t> FlockHolderPid(absl::string_view proc_locks, unsigned dev_major,
                                    unsigned dev_minor, uint64_t inode) {
  // "1: FLOCK  ADVISORY  WRITE 1234 fe:00:11011036 0 EOF"; waiters have "->" after the
  // number and hold nothing.
  for (absl::string_view line : absl::StrSplit(proc_locks, '\n', absl::SkipEmpty())) {
    const std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() < 6 || fields[1] != "FLOCK") continue;
    const std::vector<absl::string_view> id = absl::StrSplit(fields[5], ':');
    unsigned file_major = 0;
    unsigned file_minor = 0;
    uint64_t file_inode = 0;
    pid_t pid = 0;
    if (id.size() != 3 || !absl::SimpleHexAtoi(id[0], &file_major) ||
        !absl::SimpleHexAtoi(id[1], &file_minor) || !absl::SimpleAtoi(id[2], &file_inode) ||
        !absl::SimpleAtoi(fields[4], &pid)) {
      continue;
    }
    if (file_major == dev_major && file_minor == dev_minor && file_inode == inode) return pid;
  }
  return std::nullopt;
}

std::vector<std::string> FlagsNamedIn(absl::string_view text) {
  std::vector<std::string> flags;
  // Bounded by the text: each round consumes "--" and a name.
  while (absl::ConsumePrefix(&text, "--")) {
    size_t end = 0;
    while (end < text.size() &&
           (absl::ascii_isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_')) {
      ++end;
    }
    if (end == 0) break;
    flags.emplace_back(text.substr(0, end));
    text.remove_prefix(end);
    if (!absl::ConsumePrefix(&text, "/")) break;
  }
  return flags;
}

// --- The run --------------------------------------------------------------------------

int RunConfigCheck(std::FILE* out, std::FILE* err) {
  // The findings say everything; no log lines in between (a secure heap warning, say).
  core::SetLogLevel(core::LogLevel::kError);
  ConfigReport report;
  CheckLogLevel(&report);
  CheckListenAddresses(&report);
  CheckTlsFiles(absl::Now(), &report);
  CheckTlsNeeded(&report);
  CheckAuthUsersFile(&report);
  CheckAdminAccess(&report);
  CheckDkimKeys(&report);
  CheckRoutes(&report);
  CheckEgress(&report);
  CheckShaping(&report);
  CheckBounceRules(&report);
  CheckWebhook(&report);
  CheckDnsServers(kResolvConf, &report);
  CheckUser(&report);
  CheckSpoolDir(kProcLocks, &report);
  CheckDeliveryLog(&report);
  const int allowed_cpus = AllowedCpuCount();
  CheckShards(allowed_cpus, &report);
  absl::StatusOr<DaemonConfig> config = BuildDaemonConfig();
  ReportDaemonConfigError(config.status(), &report);

  for (const Finding& finding : report.findings()) {
    std::fprintf(err, "%s\n", FormatFinding(finding).c_str());
  }
  // A refused DaemonConfig is always a problem (reported above or by a check).
  if (const int problems = report.problem_count(); problems > 0 || !config.ok()) {
    std::fprintf(err, "ternd: %d problem(s) found\n", problems);
    return 1;
  }
  const int shards = absl::GetFlag(FLAGS_shards) > 0 ? absl::GetFlag(FLAGS_shards) : allowed_cpus;
  std::fprintf(out, "ternd: configuration OK (%s)\n", SummaryLine(*config, shards).c_str());
  return 0;
}

}  // namespace tern::tools::ternd
