// `tern-bench sink`: a fast receiving SMTP sink, like Postfix's smtp-sink, on io_uring. It
// answers as fast as it can, verifies every tern-bench message's checksum, counts, records
// (--record) and injects faults on demand (--tempfail_rate, --permfail_rate,
// --disconnect_rate, --delay). This file holds its flags and the run: listeners, threads,
// signals, progress lines and the summary.
//
//   tern-bench sink --listen=127.0.0.1:2526 --threads=2 --record=/tmp/sink.jsonl
//       --tempfail_rate=rcpt:0.1 --delay=dot:20ms --sink_duration=60 --json
//
// Exit status: 0 after a clean stop (SIGINT, SIGTERM, --sink_duration, --exit_after), 2 for
// bad flags, 1 when the sink cannot start (address in use, no io_uring, record file).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/log.h"
#include "net/listen_socket.h"
#include "tools/tern_bench/common_flags.h"
#include "tools/tern_bench/listen_range.h"
#include "tools/tern_bench/modes.h"
#include "tools/tern_bench/sink_faults.h"
#include "tools/tern_bench/sink_report.h"
#include "tools/tern_bench/sink_session.h"
#include "tools/tern_bench/sink_stop.h"
#include "tools/tern_bench/sink_thread.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:2526",
          "sink: HOST:PORT to receive on ([V6]:PORT for IPv6; port 0: the kernel picks), or "
          "HOST:FIRST-LAST for every port of a range (one sink for many next hops)");
ABSL_FLAG(std::string, hostname, "tern-bench-sink", "sink: name in the greeting and EHLO");
ABSL_FLAG(std::string, ready_file, "",
          "sink: once listening, write HOST:PORT (the real port; HOST:FIRST-LAST for a range) "
          "to this file, atomically");
ABSL_FLAG(uint64_t, max_message_size, 0,
          "sink: bytes; advertised in SIZE; larger messages are read, then refused 552 5.3.4 "
          "(0: unlimited)");
ABSL_FLAG(uint32_t, max_recipients, 10000,
          "sink: recipients per message; the extras get 452 4.5.3");
ABSL_FLAG(std::string, record, "",
          "sink: write one JSON line per message that reached end of data to this file "
          "(truncated at start)");
ABSL_FLAG(std::string, tempfail_rate, "",
          "sink: STAGE:RATE,... answer 451 4.3.0 (at connect 421 4.3.2 and close) with this "
          "probability; stages connect, ehlo, mail, rcpt, data, dot, quit");
ABSL_FLAG(std::string, permfail_rate, "",
          "sink: STAGE:RATE,... answer 550 5.7.1 (at connect 554 5.3.2 and close)");
ABSL_FLAG(std::string, disconnect_rate, "",
          "sink: STAGE:RATE,... close the connection instead of replying");
ABSL_FLAG(std::string, delay, "",
          "sink: STAGE:DURATION,... hold that reply this long (e.g. rcpt:5ms,dot:20ms); "
          "pipelined replies behind it wait in order");
ABSL_FLAG(uint64_t, fault_seed, 0,
          "sink: seed of the fault decisions (0: random); the summary prints the one used");
ABSL_FLAG(double, sink_duration, 0, "sink: stop after this many seconds (0: until a signal)");
ABSL_FLAG(uint64_t, exit_after, 0,
          "sink: stop after this many messages answered 250 at end of data (0: no limit)");
ABSL_FLAG(absl::Duration, idle_timeout, absl::Minutes(5),
          "sink: close an idle connection (421 4.4.2) after this long");

namespace tern::tools::tern_bench {
namespace {

constexpr uint32_t kThreadsMax = 256;
constexpr uint32_t kRecipientsMax = 1000000;
constexpr int kListenBacklog = 4096;

struct SinkOptions {
  std::vector<net::SocketAddress> listen;  // one, or a range of ports
  SinkConfig session;
  FaultPlan faults;
  uint32_t threads = 1;
  uint64_t fault_seed = 0;
  absl::Duration duration = absl::ZeroDuration();  // zero: no limit
  absl::Duration idle_timeout;
  uint64_t exit_after = 0;
  std::string record_path;
  std::string ready_file;
};

absl::Status ValidateHostname(absl::string_view hostname) {
  if (hostname.empty() || hostname.size() > 255) {
    return absl::InvalidArgumentError("--hostname: want 1 to 255 characters");
  }
  for (char c : hostname) {
    if (c <= ' ' || c > '~') {
      return absl::InvalidArgumentError("--hostname: no spaces or control characters");
    }
  }
  return absl::OkStatus();
}

// The flags, checked. InvalidArgument names the flag.
absl::StatusOr<SinkOptions> ReadFlags() {
  SinkOptions options;
  absl::StatusOr<std::vector<net::SocketAddress>> listen =
      ParseListenRange(absl::GetFlag(FLAGS_listen));
  if (!listen.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--listen: ", listen.status().message()));
  }
  options.listen = *std::move(listen);
  options.session.hostname = absl::GetFlag(FLAGS_hostname);
  if (absl::Status s = ValidateHostname(options.session.hostname); !s.ok()) return s;
  options.session.max_message_size = absl::GetFlag(FLAGS_max_message_size);
  const uint32_t recipients = absl::GetFlag(FLAGS_max_recipients);
  if (recipients == 0 || recipients > kRecipientsMax) {
    return absl::InvalidArgumentError(absl::StrCat("--max_recipients: want 1 to ", kRecipientsMax));
  }
  options.session.max_recipients = recipients;
  options.record_path = absl::GetFlag(FLAGS_record);
  options.session.keep_envelope = !options.record_path.empty();

  const std::string tempfail = absl::GetFlag(FLAGS_tempfail_rate);
  const std::string permfail = absl::GetFlag(FLAGS_permfail_rate);
  const std::string disconnect = absl::GetFlag(FLAGS_disconnect_rate);
  const std::string delay = absl::GetFlag(FLAGS_delay);
  absl::StatusOr<FaultPlan> faults = FaultPlan::Parse(
      {.tempfail = tempfail, .permfail = permfail, .disconnect = disconnect, .delay = delay});
  if (!faults.ok()) return faults.status();
  options.faults = *std::move(faults);

  options.threads = ThreadCount();
  if (options.threads > kThreadsMax) {
    return absl::InvalidArgumentError(absl::StrCat("--threads: at most ", kThreadsMax));
  }
  const double duration_s = absl::GetFlag(FLAGS_sink_duration);
  if (!std::isfinite(duration_s) || duration_s < 0 || duration_s > 1e7) {
    return absl::InvalidArgumentError("--sink_duration: want seconds, 0 or more");
  }
  options.duration = absl::Seconds(duration_s);
  options.exit_after = absl::GetFlag(FLAGS_exit_after);
  options.idle_timeout = absl::GetFlag(FLAGS_idle_timeout);
  if (options.idle_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--idle_timeout: want a positive duration like 5m");
  }
  options.fault_seed = absl::GetFlag(FLAGS_fault_seed);
  options.ready_file = absl::GetFlag(FLAGS_ready_file);
  return options;
}

uint64_t RandomSeed() {
  uint64_t seed = 0;
  while (seed == 0) {
    if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) {
      seed =
          static_cast<uint64_t>(absl::ToUnixNanos(absl::Now())) ^ static_cast<uint64_t>(getpid());
    }
  }
  return seed;
}

// Writes `text` to `path` through a temporary file and a rename, so that a reader never
// sees it half written.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view text) {
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) return absl::UnavailableError(absl::StrCat(tmp, ": ", strerror(errno)));
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (std::fclose(f) != 0 || !written) {
    return absl::UnavailableError(absl::StrCat("write ", tmp, ": ", strerror(errno)));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(absl::StrCat("rename ", tmp, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

// One listening socket per thread on the same address; port 0 resolves on the first.
absl::StatusOr<std::vector<int>> OpenListeners(net::SocketAddress* address, uint32_t count) {
  std::vector<int> fds;
  for (uint32_t i = 0; i < count; ++i) {
    absl::StatusOr<int> fd = net::OpenListener(*address, kListenBacklog);
    if (!fd.ok()) {
      for (int open_fd : fds) close(open_fd);
      return fd.status();
    }
    if (address->port() == 0) {
      absl::StatusOr<uint16_t> port = net::BoundPort(*fd);
      if (!port.ok()) {
        close(*fd);
        for (int open_fd : fds) close(open_fd);
        return port.status();
      }
      address->set_port(*port);
    }
    fds.push_back(*fd);
  }
  return fds;
}

SinkTotals SumCounters(const std::vector<std::unique_ptr<SinkThread>>& threads) {
  SinkTotals totals;
  for (const auto& thread : threads) totals.Add(thread->counters().Snapshot());
  return totals;
}

// Waits until a stop signal, a stop request or the end of --sink_duration, printing a
// progress line every second unless --quiet.
void WaitForStop(const SinkOptions& options, int signal_fd, StopRequest* stop,
                 const std::vector<std::unique_ptr<SinkThread>>& threads, absl::Time start) {
  const bool progress = !absl::GetFlag(FLAGS_quiet);
  const absl::Time end =
      options.duration > absl::ZeroDuration() ? start + options.duration : absl::InfiniteFuture();
  absl::Time next_tick = start + absl::Seconds(1);
  absl::Time last_tick = start;
  SinkTotals last = SumCounters(threads);
  while (true) {
    const absl::Time now = absl::Now();
    if (now >= end) return;
    if (now >= next_tick) {
      if (progress) {
        SinkTotals totals = SumCounters(threads);
        std::fprintf(stderr, "%s\n",
                     FormatProgressLine(totals, last, now - last_tick, now - start).c_str());
        last = totals;
      }
      last_tick = now;
      while (next_tick <= now) next_tick += absl::Seconds(1);
    }
    const absl::Duration wait = std::min(next_tick, end) - now;
    pollfd fds[2] = {{signal_fd, POLLIN, 0}, {stop->fd(), POLLIN, 0}};
    const int timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(wait)) + 1;
    const int ready = poll(fds, 2, timeout_ms);
    if (ready < 0 && errno != EINTR) {
      TERN_LOG(kError, "poll: %s", strerror(errno));
      return;
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info{};
      [[maybe_unused]] const ssize_t n = read(signal_fd, &info, sizeof(info));
      return;
    }
    if ((fds[1].revents & POLLIN) || stop->requested()) return;
  }
}

int Run(const SinkOptions& options) {
  // SIGINT and SIGTERM are taken by the signalfd; the threads inherit the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  const int signal_fd = signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signal_fd < 0) {
    TERN_LOG(kError, "signalfd: %s", strerror(errno));
    return 1;
  }
  absl::StatusOr<std::unique_ptr<StopRequest>> stop = StopRequest::Create();
  if (!stop.ok()) {
    TERN_LOG(kError, "%s", stop.status().message());
    close(signal_fd);
    return 1;
  }
  // A ready file left from an earlier run must not pass for this one's.
  if (!options.ready_file.empty()) std::remove(options.ready_file.c_str());
  if (!options.record_path.empty()) {
    const int fd =
        open(options.record_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      TERN_LOG(kError, "--record=%s: %s", options.record_path, strerror(errno));
      close(signal_fd);
      return 1;
    }
    close(fd);
  }
  // fds_by_thread[t]: thread t's listener on every address.
  std::vector<net::SocketAddress> addresses = options.listen;
  std::vector<std::vector<int>> fds_by_thread(options.threads);
  for (net::SocketAddress& address : addresses) {
    absl::StatusOr<std::vector<int>> listen_fds = OpenListeners(&address, options.threads);
    if (!listen_fds.ok()) {
      TERN_LOG(kError, "--listen: %s", listen_fds.status().message());
      for (const std::vector<int>& fds : fds_by_thread) {
        for (int fd : fds) close(fd);
      }
      close(signal_fd);
      return 1;
    }
    for (uint32_t i = 0; i < options.threads; ++i) fds_by_thread[i].push_back((*listen_fds)[i]);
  }

  const SinkProfile profile(options.session);
  std::atomic<uint64_t> accepted_total{0};
  std::vector<std::unique_ptr<SinkThread>> threads;
  for (uint32_t i = 0; i < options.threads; ++i) {
    SinkThreadConfig config;
    config.index = i;
    config.listen_fds = std::move(fds_by_thread[i]);
    config.profile = &profile;
    config.idle_timeout = options.idle_timeout;
    config.fault_seed = options.fault_seed;
    config.record_path = options.record_path;
    config.stop = stop->get();
    config.accepted_total = &accepted_total;
    config.exit_after = options.exit_after;
    threads.push_back(std::make_unique<SinkThread>(std::move(config)));
  }
  for (auto& thread : threads) thread->Start();
  bool failed = false;
  for (auto& thread : threads) {
    absl::Status ready = thread->WaitReady();
    if (!ready.ok()) {
      TERN_LOG(kError, "sink thread failed to start: %s", ready.message());
      failed = true;
    }
  }
  // HOST:PORT (the real port), or HOST:FIRST-LAST for a range.
  std::string bound = net::FormatSocketAddress(addresses.front().storage);
  if (addresses.size() > 1) absl::StrAppend(&bound, "-", addresses.back().port());
  if (!failed && !options.ready_file.empty()) {
    absl::Status written = WriteFileAtomically(options.ready_file, absl::StrCat(bound, "\n"));
    if (!written.ok()) {
      TERN_LOG(kError, "--ready_file: %s", written.message());
      failed = true;
    }
  }
  if (failed) {
    for (auto& thread : threads) thread->RequestStop();
    for (auto& thread : threads) thread->Join();
    close(signal_fd);
    return 1;
  }
  if (!absl::GetFlag(FLAGS_quiet)) {
    std::fprintf(
        stderr, "sink: listening on %s, %u thread%s, faults: %s, seed %llu (%s)\n", bound.c_str(),
        options.threads, options.threads == 1 ? "" : "s", options.faults.Describe().c_str(),
        static_cast<unsigned long long>(options.fault_seed), threads[0]->features().c_str());
  }

  const absl::Time start = absl::Now();
  WaitForStop(options, signal_fd, stop->get(), threads, start);
  const absl::Duration elapsed = absl::Now() - start;
  for (auto& thread : threads) thread->RequestStop();
  for (auto& thread : threads) thread->Join();
  close(signal_fd);

  const SinkTotals totals = SumCounters(threads);
  const std::string summary = absl::GetFlag(FLAGS_json)
                                  ? FormatSummaryJson(totals, elapsed, options.fault_seed)
                                  : FormatSummaryText(totals, elapsed, options.fault_seed);
  std::fwrite(summary.data(), 1, summary.size(), stdout);
  std::fflush(stdout);
  return 0;
}

}  // namespace

int RunSink() {
  absl::StatusOr<SinkOptions> options = ReadFlags();
  if (!options.ok()) {
    std::fprintf(stderr, "tern-bench sink: %s\n", std::string(options.status().message()).c_str());
    return 2;
  }
  if (options->fault_seed == 0) options->fault_seed = RandomSeed();
  options->session.faults = options->faults.empty() ? nullptr : &options->faults;
  return Run(*options);
}

}  // namespace tern::tools::tern_bench
