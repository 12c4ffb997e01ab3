// tern-bench source: the load generator. Reads its flags, splits the work over --threads
// SourceWorkers, prints a progress line a second and the summary at the end.
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <cstdio>
#include <memory>
#include <random>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "tools/tern_bench/common_flags.h"
#include "tools/tern_bench/modes.h"
#include "tools/tern_bench/recipient_sets.h"
#include "tools/tern_bench/source_worker.h"

ABSL_FLAG(std::string, target, "127.0.0.1:2525", "the SMTP server to load, HOST:PORT");
ABSL_FLAG(uint32_t, connections, 10, "concurrent connections (over all threads)");
ABSL_FLAG(uint64_t, messages, 0,
          "messages to send; 0: 10000, or as many as --duration allows when it is set");
ABSL_FLAG(absl::Duration, duration, absl::ZeroDuration(),
          "stop starting messages after this long (e.g. 30s); 0: no limit");
ABSL_FLAG(std::string, size, "4096",
          "message size in bytes (4096, 4k, 1m) or weighted sizes (1k:60,4k:30,64k:10)");
ABSL_FLAG(uint32_t, recipients, 1, "recipients per message");
ABSL_FLAG(bool, pipelining, true, "batch MAIL, RCPT and DATA when the server offers PIPELINING");
ABSL_FLAG(bool, pipeline_messages, true,
          "with PIPELINING, send the next message's envelope right behind the previous "
          "message's end of data (RFC 2920 3.1: one round trip per message); false: wait for "
          "each message's final reply first");
ABSL_FLAG(bool, chunking, false, "send BDAT instead of DATA when the server offers CHUNKING");
ABSL_FLAG(uint32_t, messages_per_connection, 0,
          "QUIT and reconnect after this many messages; 0: no limit, 1: like smtp-source");
ABSL_FLAG(double, rate, 0,
          "open loop: messages per second arriving at fixed intervals, latency measured from "
          "each arrival; 0: closed loop (each connection sends as fast as it is answered)");
ABSL_FLAG(bool, tls, false,
          "STARTTLS when the target offers it (the certificate is not verified); the 'tls' "
          "phase times STARTTLS to the end of the handshake");
ABSL_FLAG(std::string, sender, "bench@tern-bench.test", "the envelope sender");
ABSL_FLAG(std::string, to, "user@example.net",
          "the recipient; with --recipients=N the others are user+1@..., user+2@...");
ABSL_FLAG(uint32_t, to_domains, 1,
          "spread the messages over this many recipient domains, d0.DOMAIN to d(N-1).DOMAIN "
          "for --to=user@DOMAIN, in turn (message k goes to d(k mod N)); 1: --to's domain");
ABSL_FLAG(std::string, helo, "tern-bench.test", "the EHLO name");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(60), "how long to wait for any reply");
ABSL_FLAG(absl::Duration, connect_timeout, absl::Seconds(10), "how long a connect may take");
ABSL_FLAG(std::string, run_id, "", "names this run in Message-IDs; empty: random");
ABSL_FLAG(uint64_t, seed, 0, "seed of the size draws; 0: random");

namespace tern::tools::tern_bench {
namespace {

struct Run {
  std::vector<std::unique_ptr<SourceWorker>> workers;
};

// SourceStats is large (a histogram per phase): on the heap.
std::unique_ptr<SourceStats> MergedStats(const Run& run) {
  auto total = std::make_unique<SourceStats>();
  for (const auto& worker : run.workers) total->Merge(worker->stats());
  return total;
}

bool AllFinished(const Run& run) {
  for (const auto& worker : run.workers) {
    if (!worker->finished()) return false;
  }
  return true;
}

}  // namespace

int RunSource() {
  auto fail = [](const absl::Status& status) {
    std::fprintf(stderr, "tern-bench source: %s\n", std::string(status.message()).c_str());
    return 2;
  };
  const std::string target_text = absl::GetFlag(FLAGS_target);
  absl::StatusOr<net::SocketAddress> target = net::ParseSocketAddress(target_text);
  if (!target.ok()) return fail(target.status());
  absl::StatusOr<SizeDistribution> sizes = SizeDistribution::Parse(absl::GetFlag(FLAGS_size));
  if (!sizes.ok()) return fail(sizes.status());
  absl::StatusOr<std::vector<std::vector<std::string>>> recipients = BuildRecipientSets(
      absl::GetFlag(FLAGS_to), absl::GetFlag(FLAGS_recipients), absl::GetFlag(FLAGS_to_domains));
  if (!recipients.ok()) return fail(recipients.status());
  const uint32_t connections = absl::GetFlag(FLAGS_connections);
  if (connections == 0 || connections > 100000) {
    return fail(absl::InvalidArgumentError("--connections: want 1..100000"));
  }
  const double rate = absl::GetFlag(FLAGS_rate);
  if (rate < 0 || rate > 10e6) return fail(absl::InvalidArgumentError("--rate: want 0..1e7"));
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  uint64_t messages = absl::GetFlag(FLAGS_messages);
  if (messages == 0 && duration <= absl::ZeroDuration()) messages = 10000;

  std::random_device device;
  uint64_t seed = absl::GetFlag(FLAGS_seed);
  if (seed == 0) seed = (uint64_t{device()} << 32) | device();
  std::string run_id = absl::GetFlag(FLAGS_run_id);
  if (run_id.empty()) run_id = absl::StrFormat("%08x", device());

  const uint32_t threads = std::min(ThreadCount(), connections);
  const int64_t start_ns = MonotonicNowNs();
  const int64_t deadline_ns =
      duration > absl::ZeroDuration() ? start_ns + absl::ToInt64Nanoseconds(duration) : INT64_MAX;
  // Signals go to the main thread only (the workers inherit the blocked mask).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Run run;
  for (uint32_t i = 0; i < threads; ++i) {
    SourcePlan plan;
    plan.target = *target;
    plan.connections = connections / threads + (i < connections % threads ? 1 : 0);
    plan.messages = messages / threads + (i < messages % threads ? 1 : 0);
    if (messages != 0 && plan.messages == 0) continue;
    plan.deadline_ns = deadline_ns;
    plan.rate = rate / threads;
    plan.messages_per_connection = absl::GetFlag(FLAGS_messages_per_connection);
    plan.sizes = *sizes;
    plan.sender = absl::GetFlag(FLAGS_sender);
    plan.recipient_sets = *recipients;
    plan.session.helo = absl::GetFlag(FLAGS_helo);
    plan.session.pipelining = absl::GetFlag(FLAGS_pipelining);
    plan.session.chunking = absl::GetFlag(FLAGS_chunking);
    plan.session.starttls = absl::GetFlag(FLAGS_tls);
    plan.session.overlap_messages = absl::GetFlag(FLAGS_pipeline_messages);
    plan.reply_timeout = absl::GetFlag(FLAGS_timeout);
    plan.connect_timeout = absl::GetFlag(FLAGS_connect_timeout);
    plan.run_id = run_id;
    plan.stream = i;
    plan.streams = threads;
    plan.seed = seed + i;
    run.workers.push_back(std::make_unique<SourceWorker>(std::move(plan)));
  }
  for (auto& worker : run.workers) worker->Start();
  for (auto& worker : run.workers) {
    if (absl::Status ready = worker->WaitReady(); !ready.ok()) {
      for (auto& other : run.workers) other->RequestStop();
      // The failure to start is the one reported; the stopped workers' own results add nothing.
      for (auto& other : run.workers) other->Join().IgnoreError();
      return fail(ready);
    }
  }

  const std::string mode =
      rate > 0 ? absl::StrFormat("open loop at %.0f msgs/s over %u connections", rate, connections)
               : absl::StrFormat("closed loop, %u connections", connections);
  if (!absl::GetFlag(FLAGS_quiet)) {
    std::fprintf(stderr, "tern-bench source: %s, %s, size %s, %u thread(s), run %s, seed %llu\n",
                 target_text.c_str(), mode.c_str(), sizes->ToString().c_str(), threads,
                 run_id.c_str(), static_cast<unsigned long long>(seed));
  }
  // Progress, once a second, until every worker finished; a signal stops the workers.
  auto previous_messages = std::make_unique<LatencyHistogram>();
  uint64_t previous_delivered = 0;
  int64_t previous_ns = start_ns;
  int64_t next_report_ns = start_ns + 1000000000;
  int signals_seen = 0;
  while (!AllFinished(run)) {
    const int64_t now = MonotonicNowNs();
    const int64_t wait_ns = std::clamp<int64_t>(next_report_ns - now, 1000000, 100000000);
    timespec wait = {0, static_cast<long>(wait_ns)};
    if (sigtimedwait(&signals, nullptr, &wait) > 0) {
      if (++signals_seen == 1) {
        std::fprintf(stderr, "tern-bench source: stopping (messages in flight finish)\n");
      }
      for (auto& worker : run.workers) worker->RequestStop();
    }
    if (MonotonicNowNs() < next_report_ns) continue;
    next_report_ns += 1000000000;
    const std::unique_ptr<SourceStats> stats = MergedStats(run);
    const SourceStats& total = *stats;
    const auto recent =
        std::make_unique<LatencyHistogram>(total.phase(Phase::kMessage).Since(*previous_messages));
    const int64_t t = MonotonicNowNs();
    if (!absl::GetFlag(FLAGS_quiet)) {
      std::fprintf(
          stderr, "source: %3llds %8.0f msgs/s  total %llu  failed %llu  p99 %.3f ms  conns %llu\n",
          static_cast<long long>((t - start_ns) / 1000000000),
          static_cast<double>(total.delivered() - previous_delivered) * 1e9 /
              static_cast<double>(t - previous_ns),
          static_cast<unsigned long long>(total.delivered()),
          static_cast<unsigned long long>(total.failed()),
          static_cast<double>(recent->Percentile(0.99)) / 1e6,
          static_cast<unsigned long long>(total.connections()));
    }
    *previous_messages = total.phase(Phase::kMessage);
    previous_delivered = total.delivered();
    previous_ns = t;
  }
  std::vector<absl::Status> results;
  for (auto& worker : run.workers) results.push_back(worker->Join());
  const double seconds = static_cast<double>(MonotonicNowNs() - start_ns) / 1e9;

  const std::unique_ptr<SourceStats> merged = MergedStats(run);
  const SourceStats& total = *merged;
  SourceSummaryInput input;
  input.target = target_text;
  input.mode = mode;
  input.sizes = sizes->ToString();
  input.seconds = seconds;
  input.planned = messages;
  const std::string summary =
      absl::GetFlag(FLAGS_json) ? FormatSummaryJson(input, total) : FormatSummaryText(input, total);
  std::fwrite(summary.data(), 1, summary.size(), stdout);
  std::fflush(stdout);
  int status = total.failed() == 0 ? 0 : 1;
  for (const absl::Status& result : results) {
    if (!result.ok()) {
      std::fprintf(stderr, "tern-bench source: %s\n", std::string(result.message()).c_str());
      status = 2;
    }
  }
  return status;
}

}  // namespace tern::tools::tern_bench
