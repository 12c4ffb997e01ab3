// SinkThread: set-up, run and orderly stop of one sink thread (sink_thread.h).
#include "tools/tern_bench/sink_thread.h"

#include <unistd.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "core/log.h"
#include "tools/tern_bench/common_flags.h"

namespace tern::tools::tern_bench {
namespace {

// While stopping, the loop must look at its connections at least this often even when
// nothing else happens.
constexpr absl::Duration kShutdownTick = absl::Milliseconds(50);

// A wheel timer that calls a function.
class CallbackTimer : public core::Timer {
 public:
  explicit CallbackTimer(std::function<void()> callback) : callback_(std::move(callback)) {}
  void OnTimer() override { callback_(); }

 private:
  std::function<void()> callback_;
};

}  // namespace

class SinkThread::Acceptor : public net::AcceptHandler {
 public:
  explicit Acceptor(SinkConnectionContext* context) : context_(context) {}
  void OnAccept(net::Connection* connection) override {
    SinkConnection::Accept(context_, connection);
  }

 private:
  SinkConnectionContext* context_;
};

SinkThread::SinkThread(SinkThreadConfig config) : config_(std::move(config)) {
  CHECK(config_.profile != nullptr);
  CHECK(config_.stop != nullptr);
  CHECK(config_.accepted_total != nullptr);
  CHECK_GE(config_.listen_fd, 0);
}

SinkThread::~SinkThread() { Join(); }

void SinkThread::Start() {
  thread_ = std::thread([this] { Main(); });
}

absl::Status SinkThread::WaitReady() {
  ready_.WaitForNotification();
  return setup_status_;
}

void SinkThread::RequestStop() {
  stop_requested_.store(true);
  if (ready_.HasBeenNotified() && setup_status_.ok()) loop_->Wake();
}

void SinkThread::Join() {
  if (thread_.joinable()) thread_.join();
}

void SinkThread::Main() {
  setup_status_ = Setup();
  if (!setup_status_.ok()) {
    if (config_.listen_fd >= 0) close(config_.listen_fd);
    ready_.Notify();
    return;
  }
  ready_.Notify();
  // A stop requested before the wake handler was set would otherwise be missed.
  if (stop_requested_.load()) BeginShutdown();
  loop_->Run();
  // Every connection is closed and the record written (OnIteration stops only then); tear
  // down on this thread, timers before the loop that holds their wheel.
  CHECK(context_.connections.empty());
  if (record_ != nullptr) {
    SinkCounters::Bump(counters_.record_lines_dropped, record_->dropped_lines());
  }
  acceptor_.reset();
  transport_.reset();
  record_.reset();
  releases_.reset();
  shutdown_ticker_.reset();
  loop_.reset();
}

absl::Status SinkThread::Setup() {
  absl::StatusOr<engine::IoEngine> io_engine = BenchIoEngine();
  if (!io_engine.ok()) return io_engine.status();
  absl::StatusOr<std::unique_ptr<core::Loop>> loop = engine::CreateLoop(*io_engine);
  if (!loop.ok()) return loop.status();
  loop_ = *std::move(loop);
  features_ = absl::StrCat(loop_->engine_name(), ": ", loop_->DescribeFeatures());
  absl::StatusOr<std::unique_ptr<net::Transport>> transport =
      engine::CreateTransport(loop_.get(), engine::TransportOptions{});
  if (!transport.ok()) return transport.status();
  transport_ = *std::move(transport);
  if (!config_.record_path.empty()) {
    absl::StatusOr<std::unique_ptr<RecordWriter>> record =
        RecordWriter::Open(loop_.get(), config_.record_path);
    if (!record.ok()) return record.status();
    record_ = *std::move(record);
  }
  context_.loop = loop_.get();
  context_.profile = config_.profile;
  context_.counters = &counters_;
  context_.observer = this;
  context_.idle_timeout = config_.idle_timeout;
  context_.fault_seed = config_.fault_seed;
  context_.thread_index = config_.index;
  releases_ = std::make_unique<ReleaseScheduler>(&context_);
  context_.releases = releases_.get();
  shutdown_ticker_ = std::make_unique<CallbackTimer>(
      [this] { loop_->timers().Arm(shutdown_ticker_.get(), loop_->now() + kShutdownTick); });
  acceptor_ = std::make_unique<Acceptor>(&context_);
  const int fd = config_.listen_fd;
  config_.listen_fd = -1;  // the transport owns it now, also when Listen fails
  absl::Status listening = transport_->Listen(fd, acceptor_.get());
  if (!listening.ok()) return listening;
  loop_->SetWakeHandler([this] { OnWake(); });
  loop_->AddIterationHook([this] { OnIteration(); });
  return absl::OkStatus();
}

void SinkThread::OnWake() {
  if (stop_requested_.load() && !shutting_down_) BeginShutdown();
}

void SinkThread::BeginShutdown() {
  shutting_down_ = true;
  shutdown_deadline_ = absl::Now() + kShutdownGrace;
  transport_->StopListening();
  std::vector<SinkConnection*> connections;
  connections.reserve(context_.connections.size());
  for (const auto& [id, connection] : context_.connections) connections.push_back(connection);
  for (SinkConnection* connection : connections) connection->Shutdown();
  loop_->timers().Arm(shutdown_ticker_.get(), loop_->now() + kShutdownTick);
  loop_->WakeSoon();  // OnIteration runs even if no connection has anything left to do
}

void SinkThread::OnIteration() {
  releases_->Rearm();
  if (!shutting_down_) return;
  if (!context_.connections.empty()) {
    if (absl::Now() < shutdown_deadline_ || connections_aborted_) return;
    connections_aborted_ = true;  // their clients did not take the 421 in time
    std::vector<SinkConnection*> connections;
    for (const auto& [id, connection] : context_.connections) connections.push_back(connection);
    for (SinkConnection* connection : connections) connection->Abort();
    return;
  }
  if (record_ != nullptr) {
    record_->Flush();
    if (!record_->idle()) return;
  }
  loop_->timers().Cancel(shutdown_ticker_.get());
  loop_->Stop();
}

void SinkThread::OnMessage(const MessageOutcome& outcome) {
  if (record_ != nullptr) record_->Append(outcome);
  if (outcome.reply != 250) return;
  const uint64_t total = config_.accepted_total->fetch_add(1, std::memory_order_relaxed) + 1;
  if (config_.exit_after != 0 && total >= config_.exit_after) config_.stop->Request();
}

}  // namespace tern::tools::tern_bench
