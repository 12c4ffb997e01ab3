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

SinkThread::SinkThread(SinkThreadConfig config)
    : config_(std::move(config)), thread_({.name = absl::StrCat("sink-", config_.index)}) {
  CHECK(config_.profile != nullptr);
  CHECK(config_.stop != nullptr);
  CHECK(config_.accepted_total != nullptr);
  CHECK(!config_.listen_fds.empty());
  for (int fd : config_.listen_fds) CHECK_GE(fd, 0);
}

SinkThread::~SinkThread() {
  RequestStop();
  Join();
  for (int fd : config_.listen_fds) close(fd);  // set-up failed before taking them
}

void SinkThread::Start() {
  thread_.Start(CreateBenchLoop, {.set_up = [this](core::Loop* loop) { return Setup(loop); },
                                  .on_stop = [this] { BeginShutdown(); },
                                  .tear_down = [this] { TearDown(); }});
}

absl::Status SinkThread::WaitReady() { return thread_.WaitReady(); }

void SinkThread::RequestStop() { thread_.RequestStop(); }

void SinkThread::Join() { thread_.Join(); }

void SinkThread::TearDown() {
  // After a run every connection is closed and the record written (OnIteration stops only
  // then); tear down on this thread, timers before the loop that holds their wheel.
  CHECK(context_.connections.empty());
  if (record_ != nullptr) {
    SinkCounters::Bump(counters_.record_lines_dropped, record_->dropped_lines());
  }
  acceptor_.reset();
  transport_.reset();
  record_.reset();
  releases_.reset();
  shutdown_ticker_.reset();
  loop_ = nullptr;
}

absl::Status SinkThread::Setup(core::Loop* loop) {
  loop_ = loop;
  features_ = absl::StrCat(loop_->engine_name(), ": ", loop_->DescribeFeatures());
  absl::StatusOr<std::unique_ptr<net::Transport>> transport =
      engine::CreateTransport(loop_, engine::TransportOptions{});
  if (!transport.ok()) return transport.status();
  transport_ = *std::move(transport);
  if (!config_.record_path.empty()) {
    absl::StatusOr<std::unique_ptr<RecordWriter>> record =
        RecordWriter::Open(loop_, config_.record_path);
    if (!record.ok()) return record.status();
    record_ = *std::move(record);
  }
  context_.loop = loop_;
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
  // The transport owns each one from Listen on, also when Listen fails.
  std::vector<int> fds = std::move(config_.listen_fds);
  config_.listen_fds.clear();
  for (size_t i = 0; i < fds.size(); ++i) {
    absl::Status listening = transport_->Listen(fds[i], acceptor_.get());
    if (!listening.ok()) {
      for (size_t j = i + 1; j < fds.size(); ++j) close(fds[j]);
      return listening;
    }
  }
  loop_->AddIterationHook([this] { OnIteration(); });
  return absl::OkStatus();
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
