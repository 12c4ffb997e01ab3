// The daemon's life (behaviour: tools/ternd/daemon.h): binds the listeners (one
// SO_REUSEPORT socket per shard and address), locks the spool, starts one pinned shard per
// core (handing accepted connections between them, net/inbound_balance.h) and the admin
// endpoint, then waits for SIGTERM/SIGINT and stops gracefully. Tells systemd each step
// (Type=notify: READY, RELOADING, STOPPING, and the shard watchdog).
#include "tools/ternd/daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "core/log.h"
#include "core/log_output.h"
#include "core/service_notifier.h"
#include "core/shard_thread.h"
#include "net/admin_server.h"
#include "net/inbound_balance.h"
#include "net/listen_socket.h"
#include "spool/spool_lock.h"
#include "tools/program_usage.h"
#include "tools/ternd/admin_api.h"
#include "tools/ternd/check_config.h"
#include "tools/ternd/command_line.h"
#include "tools/ternd/daemon_config.h"
#include "tools/ternd/delivery_reload.h"
#include "tools/ternd/egress_flags.h"
#include "tools/ternd/flags.h"
#include "tools/ternd/privileges.h"
#include "tools/ternd/shaping_setup.h"
#include "tools/ternd/shard.h"
#include "tools/ternd/shard_watchdog.h"

namespace tern::tools::ternd {
namespace {

// --user: hands the spool and the delivery log to the user and switches to it for good.
// Without --user, a warning when running as root.
absl::Status BecomeUser(const DaemonConfig& config) {
  const std::string user = absl::GetFlag(FLAGS_user);
  if (user.empty()) {
    if (::geteuid() == 0) {
      TERN_LOG(kWarning, "running as root: set --user to drop privileges once the ports are bound");
    }
    return absl::OkStatus();
  }
  if (!config.delivery_log.empty() && ::geteuid() == 0) {
    // Created here so that the user can append to it without write access to its directory.
    const int fd =
        ::open(config.delivery_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
      return absl::InternalError(
          absl::StrCat("--delivery_log=", config.delivery_log, ": ", std::strerror(errno)));
    }
    ::close(fd);
  }
  absl::StatusOr<std::string> dropped =
      DropPrivileges(user, {config.spool_dir, config.delivery_log});
  if (!dropped.ok()) return dropped.status();
  TERN_LOG(kInfo, "%s", *dropped);
  return absl::OkStatus();
}

// SIGHUP: loads --tls_cert/--tls_key again; new handshakes use them, established sessions
// keep theirs. A file that fails to load leaves the current certificate in use.
void ReloadTls(const DaemonConfig& config) {
  if (config.tls == nullptr) {
    TERN_LOG(kInfo, "SIGHUP: no TLS configured, nothing to reload");
    return;
  }
  auto context = net::tls::TlsContext::CreateServer(config.tls_files);
  if (!context.ok()) {
    TERN_LOG(kError, "SIGHUP: TLS reload failed, keeping the current certificate: %s",
             context.status().message());
    return;
  }
  config.tls->Set(*std::move(context));
  TERN_LOG(kInfo, "SIGHUP: TLS certificate %s and key %s reloaded", config.tls_files.cert_file,
           config.tls_files.key_file);
}

// The command line as given (flagfiles not expanded): SIGHUP reads it again.
std::vector<std::string>& StartArgs() {
  static std::vector<std::string> args;
  return args;
}

// SIGHUP: --route/--smarthost, --dkim_key and --bounce_rules from the command line and
// flagfiles again.
void ReloadDelivery(const DaemonConfig& config, std::vector<std::unique_ptr<Shard>>& shards) {
  if (config.delivery == nullptr) return;
  absl::StatusOr<DeliveryReload> reload = ReadDeliveryReload(StartArgs());
  if (!reload.ok()) {
    TERN_LOG(kError,
             "SIGHUP: routes, DKIM keys and bounce rules not reloaded, the current ones stay: %s",
             reload.status().message());
    return;
  }
  for (auto& shard : shards) shard->ApplyDeliveryReload(*reload);
  TERN_LOG(kInfo, "SIGHUP: %d routes%s and %d DKIM keys reloaded", reload->routes->size(),
           reload->routes->has_smarthost() ? " (and a smarthost)" : "", reload->dkim_keys);
  TERN_LOG(kInfo, "SIGHUP: bounce rules reloaded (%d rules in force)",
           reload->bounce_classifier->rule_count());
}

// SIGHUP: the egress flags (--egress_source, --egress_pool, --default_pool, --sender_pool,
// --pool_header) from the command line and flagfiles again, every source bound once as at
// start. Refused (the running ones stay) when they do not load, or when the shaping policy
// in force after this SIGHUP would name a source they lack (CheckShapingKeepsEgressSources).
// Runs before the shaping policy's reload, which checks against the sources then in force.
void ReloadEgress(const DaemonConfig& config, std::vector<std::unique_ptr<Shard>>& shards) {
  absl::StatusOr<std::shared_ptr<const delivery::EgressConfig>> egress =
      ReadEgressReload(StartArgs());
  absl::Status fits = egress.ok() ? CheckShapingKeepsEgressSources(
                                        config.shaping_file, *config.shaping->policy(), **egress)
                                  : egress.status();
  if (!fits.ok()) {
    TERN_LOG(kError, "SIGHUP: egress sources and pools not reloaded, the current ones stay: %s",
             fits.message());
    return;
  }
  for (const std::string& warning : (*egress)->warnings()) {
    TERN_LOG(kWarning, "SIGHUP: %s", warning);
  }
  config.egress->Set(*egress);
  for (auto& shard : shards) shard->ApplyEgressReload(*egress);
  const delivery::EgressPool* default_pool = (*egress)->default_pool();
  TERN_LOG(kInfo, "SIGHUP: egress: %d sources, %d pools (default pool %s) reloaded",
           (*egress)->sources().size(), (*egress)->pools().size(),
           default_pool != nullptr ? default_pool->name : "none");
}

absl::Status SetLogLevelFromFlag() {
  const std::string level = absl::GetFlag(FLAGS_log_level);
  if (level == "debug") {
    core::SetLogLevel(core::LogLevel::kDebug);
  } else if (level == "info") {
    core::SetLogLevel(core::LogLevel::kInfo);
  } else if (level == "warning") {
    core::SetLogLevel(core::LogLevel::kWarning);
  } else if (level == "error") {
    core::SetLogLevel(core::LogLevel::kError);
  } else {
    return absl::InvalidArgumentError(absl::StrCat("--log_level: unknown level '", level, "'"));
  }
  return absl::OkStatus();
}

// Sessions are file descriptors: take the hard limit (10,000+ connections per host).
void RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// How often the shaping state file is brought up to date (when the overrides changed).
constexpr absl::Duration kShapingSaveInterval = absl::Seconds(1);

// The next of `signals` (blocked in every thread), or 0 when none came within `timeout`.
int WaitForSignal(const sigset_t& signals, absl::Duration timeout) {
  const timespec wait = absl::ToTimespec(timeout);
  const int number = sigtimedwait(&signals, nullptr, &wait);
  return number > 0 ? number : 0;  // EAGAIN (timeout) and EINTR: nothing
}

// Logs a failure once (not every second while it lasts), and the recovery. Main thread only.
void SaveShapingState(queue::ShapingState& shaping, bool force) {
  static std::string last_error;
  absl::Status saved = shaping.SaveIfChanged(absl::Now(), force);
  if (saved.ok()) {
    if (!last_error.empty()) {
      TERN_LOG(kInfo, "shaping state: %s written again", shaping.state_file());
    }
    last_error.clear();
  } else if (saved.message() != last_error || force) {
    last_error = std::string(saved.message());
    TERN_LOG(kError, "shaping state: not written (retried each second): %s", last_error);
  }
}

// Bounds the wait for the log writer at exit (stderr may be a pipe nobody reads).
constexpr absl::Duration kLogFlushAtExit = absl::Seconds(2);

}  // namespace

int RunDaemon(const DaemonHooks& hooks) {
  RaiseFileLimit();
  // systemd Type=notify (a no-op without $NOTIFY_SOCKET); its socket opens before --user.
  const core::ServiceNotifier notifier = core::ServiceNotifier::FromEnvironment();
  auto notify = [&notifier](const std::string& state) {
    absl::Status sent = notifier.Notify(state);
    if (!sent.ok()) TERN_LOG(kWarning, "systemd notify: %s", sent.message());
  };
  absl::Status level = SetLogLevelFromFlag();
  if (!level.ok()) {
    TERN_LOG(kError, "%s", level.message());
    return 2;
  }
  // Block the stop signals in every thread; the main thread waits for them with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto config = BuildDaemonConfig();
  if (!config.ok()) {
    TERN_LOG(kError, "bad configuration: %s", config.status().message());
    return 2;
  }
  if (config->spool_sync_none) {
    TERN_LOG(kWarning,
             "*** --spool_sync=none: messages are acknowledged WITHOUT fdatasync; a power "
             "failure or kernel crash can lose acknowledged mail. For benchmarks only. ***");
  }

  std::error_code mkdir_error;
  std::filesystem::create_directories(config->spool_dir, mkdir_error);
  if (mkdir_error) {
    TERN_LOG(kError, "--spool_dir=%s: %s", config->spool_dir, mkdir_error.message());
    return 1;
  }
  // Held until exit: no second ternd may open this spool.
  absl::StatusOr<spool::SpoolLock> spool_lock = spool::SpoolLock::Acquire(config->spool_dir);
  if (!spool_lock.ok()) {
    TERN_LOG(kError, "%s", spool_lock.status().message());
    return 1;
  }

  if (!config->delivery_log.empty()) {
    const std::filesystem::path parent = std::filesystem::path(config->delivery_log).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, mkdir_error);
    if (mkdir_error) {
      TERN_LOG(kError, "--delivery_log=%s: %s", config->delivery_log, mkdir_error.message());
      return 1;
    }
  }

  const std::vector<int> cpus = core::AllowedCpus();
  int shard_count = absl::GetFlag(FLAGS_shards);
  if (shard_count <= 0) shard_count = static_cast<int>(cpus.size());

  // One listening socket per shard and address; port 0 resolves on the first socket.
  std::vector<std::vector<std::pair<int, net::ListenerKind>>> shard_fds(shard_count);
  std::vector<std::string> bound;       // "smtp=HOST:PORT", as in the ready file
  std::vector<std::string> bound_text;  // "HOST:PORT (smtps)" for the log
  for (const ListenerSpec& listener : config->listeners) {
    net::SocketAddress address = listener.address;
    for (int s = 0; s < shard_count; ++s) {
      auto fd = net::OpenListener(address, 4096);
      if (!fd.ok()) {
        TERN_LOG(kError, "%s", fd.status().message());
        return 1;
      }
      if (address.port() == 0) {
        auto port = net::BoundPort(*fd);
        if (port.ok()) address.set_port(*port);
      }
      shard_fds[s].push_back({*fd, listener.kind});
    }
    const std::string name(ListenerName(listener.kind));
    bound.push_back(absl::StrCat(name, "=", net::FormatSocketAddress(address.storage)));
    bound_text.push_back(absl::StrCat(
        net::FormatSocketAddress(address.storage),
        listener.kind == net::ListenerKind::kSmtp ? "" : absl::StrCat(" (", name, ")")));
  }

  // Ports are bound and the spool is locked: the rest runs as --user.
  if (absl::Status dropped = BecomeUser(*config); !dropped.ok()) {
    TERN_LOG(kError, "%s", dropped.message());
    return 1;
  }

  // Suspensions and overrides from before the restart. A corrupt state file stops the start:
  // the operator must look (it names file and line; moving it away starts empty).
  if (absl::Status loaded = config->shaping->Load(absl::Now()); !loaded.ok()) {
    TERN_LOG(kError, "shaping state: %s (move the file away to start without it)",
             loaded.message());
    return 1;
  }
  if (!config->shaping_file.empty()) {
    TERN_LOG(kInfo, "shaping policy %s (%d blocks), %d suspension(s) and override(s) restored",
             config->shaping_file, config->shaping->policy()->block_count(),
             config->shaping->overrides().size());
  }

  // The suppression list, replayed from its journal before any RCPT is answered.
  if (absl::Status opened = config->OpenSuppressionList(); !opened.ok()) {
    TERN_LOG(kError, "suppression list: %s", opened.message());
    return 1;
  }
  TERN_LOG(kInfo, "suppression list: %d entries", config->suppression->index().size());

  // The webhook's backlog, recovered before any event is added, and its sender.
  if (absl::Status started = config->StartWebhook(); !started.ok()) {
    TERN_LOG(kError, "--webhook: %s", started.message());
    return 1;
  }
  if (config->event_journal != nullptr) {
    const events::JournalMetrics backlog = config->event_journal->metrics();
    TERN_LOG(kInfo, "webhook %s: %d events in the backlog", config->webhook.url,
             backlog.backlog_events);
  }

  // The I/O engine of every shard (auto: io_uring unless the kernel refuses it, then epoll
  // with one log line).
  absl::StatusOr<engine::IoEngine> io_engine = engine::ResolveIoEngine(config->io_engine);
  if (!io_engine.ok()) {
    TERN_LOG(kError, "%s", io_engine.status().message());
    return 1;
  }
  config->io_engine_resolved = *io_engine;

  // Declared before the shards: sockets on their way between shards refer to it until the
  // last shard is gone.
  std::unique_ptr<net::InboundBalance> balance;
  if (config->inbound_handoff && shard_count > 1) {
    balance = std::make_unique<net::InboundBalance>(shard_count);
  }
  std::vector<std::unique_ptr<Shard>> shards;
  for (int s = 0; s < shard_count; ++s) {
    ShardConfig shard_config = config->MakeShardConfig(s);
    shard_config.cpu = cpus[static_cast<size_t>(s) % cpus.size()];
    shard_config.listen_fds = shard_fds[s];
    if (balance != nullptr) {
      shard_config.balance = balance.get();
      // `shards` is complete before any shard starts, and outlives them.
      shard_config.hand_off = [&shards](int owner, int fd, net::ListenerKind kind) {
        return shards[static_cast<size_t>(owner)]->TakeHandedOff(fd, kind);
      };
    }
    if (hooks.storage_factory) {
      shard_config.storage_factory = [&hooks, s](core::Loop* loop) {
        return hooks.storage_factory(s, loop);
      };
    }
    shards.push_back(std::make_unique<Shard>(std::move(shard_config)));
  }
  for (auto& shard : shards) shard->Start();
  bool failed = false;
  for (auto& shard : shards) {
    absl::Status ready = shard->WaitReady();
    if (!ready.ok()) {
      TERN_LOG(kError, "shard %d failed to start: %s", shard->id(), ready.message());
      failed = true;
    }
  }
  if (failed) {
    for (auto& shard : shards) shard->RequestStop();
    for (auto& shard : shards) shard->Join();
    return 1;
  }
  TERN_LOG(kInfo, "I/O engine %s", shards[0]->features());

  AdminApi api(&shards,
               {.state = config->shaping.get(),
                .policy_file = config->shaping_file,
                .egress = config->egress.get()},
               config->suppression.get());
  api.set_webhook(config->event_journal.get(), config->webhook_sender.get());
  std::unique_ptr<net::AdminServer> admin;
  std::string admin_bound;
  if (config->admin.has_value()) {
    admin = std::make_unique<net::AdminServer>(
        net::AdminServer::BodyHandler(
            [&api](absl::string_view method, absl::string_view target, absl::string_view body) {
              return api.Handle(method, target, body);
            }),
        [&api] { api.Tick(); }, config->admin_access);
    absl::Status started = admin->Start(*config->admin);
    if (!started.ok()) {
      TERN_LOG(kError, "admin endpoint: %s", started.message());
      for (auto& shard : shards) shard->RequestStop();
      for (auto& shard : shards) shard->Join();
      return 1;
    }
    net::SocketAddress address = *config->admin;
    address.set_port(admin->port());
    admin_bound = net::FormatSocketAddress(address.storage);
  }
  const std::string ready_status =
      absl::StrFormat("%d shards, smtp on %s, admin on %s", shard_count,
                      absl::StrJoin(bound_text, ","), admin_bound.empty() ? "off" : admin_bound);
  TERN_LOG(kInfo, "ternd ready: %s, spool %s (sync=%s), tls %s", ready_status, config->spool_dir,
           config->spool_sync_none ? "none" : "fdatasync",
           config->tls != nullptr ? config->tls_files.cert_file : "off");
  const std::string ready_file = absl::GetFlag(FLAGS_ready_file);
  if (!ready_file.empty()) {
    const std::string tmp = ready_file + ".tmp";
    {
      std::ofstream out(tmp);
      for (const std::string& line : bound) out << line << "\n";
      if (!admin_bound.empty()) out << "admin=" << admin_bound << "\n";
      out << "pid=" << getpid() << "\n";
    }
    std::rename(tmp.c_str(), ready_file.c_str());
  }

  // Every listener is bound and every shard runs: systemd may start what depends on us.
  notify(absl::StrCat("READY=1\nSTATUS=serving: ", ready_status));
  ShardWatchdog watchdog(&shards, &notifier);
  watchdog.Start();

  int signal_number = 0;
  // Bounded by the operator: each SIGHUP reloads, SIGTERM/SIGINT ends the loop. Between
  // signals, once a second, the shaping state file is written when the overrides changed.
  while (true) {
    signal_number = WaitForSignal(stop_signals, kShapingSaveInterval);
    if (signal_number == 0) {
      SaveShapingState(*config->shaping, /*force=*/false);
      continue;
    }
    if (signal_number != SIGHUP) break;
    notify(absl::StrCat(core::ServiceNotifier::ReloadingState(), "\nSTATUS=reloading"));
    ReloadTls(*config);
    ReloadDelivery(*config, shards);
    ReloadEgress(*config, shards);
    ReloadShapingPolicy(config->shaping_file, *config->egress->Get(), config->shaping.get());
    if (!config->delivery_log.empty()) {
      // logrotate renamed it (its `create` makes the new one, owned by --user if set).
      for (auto& shard : shards) shard->ReopenDeliveryLog();
      TERN_LOG(kInfo, "SIGHUP: delivery log %s reopened", config->delivery_log);
    }
    notify(absl::StrCat("READY=1\nSTATUS=serving: ", ready_status));
  }
  TERN_LOG(kInfo, "%s: stopping gracefully", signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
  notify("STOPPING=1\nSTATUS=stopping: finishing the sessions and deliveries in flight");
  watchdog.Stop();
  if (admin) admin->Stop();
  for (auto& shard : shards) shard->RequestStop();
  for (auto& shard : shards) shard->Join();
  SaveShapingState(*config->shaping, /*force=*/true);
  TERN_LOG(kInfo, "ternd stopped");
  return 0;
}

int TerndMain(int argc, char** argv, const DaemonHooks& hooks) {
  std::vector<std::string> flag_files = {"tools/ternd/flags.cc"};
  flag_files.insert(flag_files.end(), hooks.extra_flag_files.begin(), hooks.extra_flag_files.end());
  tools::ConfigureProgramUsage(
      {.program = hooks.program,
       .summary = absl::StrCat(
           "the Tern SMTP relay daemon. Receives mail on --listen, stores it durably under "
           "--spool_dir, relays it to its destinations, serves /metrics and /queue on "
           "--admin_listen.\n\nusage: ",
           hooks.program, " [--flagfile=FILE] [flags]   (--version, --help)"),
       .flag_files = std::move(flag_files)});
  StartArgs().assign(argv, argv + argc);
#ifdef NDEBUG
  // Debian's libabsl is built without NDEBUG, so every Mutex lock feeds its deadlock
  // detector's graph (GraphCycles: about 2% of the shards' time relaying). Debug and
  // sanitizer builds keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
  // Repeated list flags (--route, --listen, ...) all count, also from flagfiles.
  absl::StatusOr<std::vector<std::string>> args = PrepareCommandLine(argc, argv, TerndListFlags());
  if (!args.ok()) {
    std::fprintf(stderr, "ternd: %s\n", std::string(args.status().message()).c_str());
    return 2;
  }
  std::vector<char*> pointers;
  for (std::string& arg : *args) pointers.push_back(arg.data());
  pointers.push_back(nullptr);
  absl::ParseCommandLine(static_cast<int>(args->size()), pointers.data());
  if (hooks.after_flags) {
    if (int rc = hooks.after_flags(); rc != 0) return rc;
  }
  // Before anything binds, locks or writes: the check starts nothing.
  if (absl::GetFlag(FLAGS_check_config)) return RunConfigCheck(stdout, stderr);
  // From here on a full stderr pipe (a stalled journald) drops log lines, never blocks.
  core::StartBackgroundLogWriter();
  const int exit_code = RunDaemon(hooks);
  core::FlushLog(kLogFlushAtExit);
  return exit_code;
}

}  // namespace tern::tools::ternd
