// ShardThread: start, set-up, stop and tear-down of one shard thread (shard_thread.h).
#include "core/shard_thread.h"

#include <pthread.h>
#include <sched.h>

#include <cstring>
#include <utility>

#include "core/check.h"
#include "core/log.h"

namespace tern::core {
namespace {

// Linux limits a thread name to 15 bytes and a NUL.
constexpr size_t kThreadNameBytesMax = 15;

void PinToCpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (const int rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set); rc != 0) {
    TERN_LOG(kWarning, "could not pin to cpu %d (%s): running unpinned", cpu, std::strerror(rc));
  }
}

}  // namespace

ShardThread::ShardThread(ShardThreadOptions options) : options_(std::move(options)) {
  CHECK_GE(options_.cpu, -1);
}

ShardThread::~ShardThread() {
  RequestStop();
  Join();
}

void ShardThread::Start(LoopFactory make_loop, ShardThreadHooks hooks) {
  CHECK(!thread_.joinable());
  CHECK(!ready_.HasBeenNotified());  // once per ShardThread
  hooks_ = std::move(hooks);
  thread_ = std::thread(
      [this, make_loop = std::move(make_loop)]() mutable { Main(std::move(make_loop)); });
}

absl::Status ShardThread::WaitReady() {
  ready_.WaitForNotification();
  return setup_status_;
}

bool ShardThread::ready() const { return ready_.HasBeenNotified() && setup_status_.ok(); }

bool ShardThread::Post(absl::AnyInvocable<void()> fn) {
  std::shared_ptr<Mailbox> mailbox;
  {
    absl::MutexLock lock(&mutex_);
    mailbox = mailbox_;
  }
  return mailbox != nullptr && mailbox->Post(std::move(fn));
}

void ShardThread::RequestStop() {
  std::shared_ptr<Mailbox> mailbox;
  {
    absl::MutexLock lock(&mutex_);
    if (stop_requested_) return;
    stop_requested_ = true;
    mailbox = mailbox_;
  }
  // Not ready yet: Main() sees stop_requested_ after set-up. Gone: nothing left to stop (a
  // posted call runs only while the loop lives).
  if (mailbox != nullptr) mailbox->Post([this] { StopOnThread(); });
}

void ShardThread::Join() {
  if (thread_.joinable()) thread_.join();
}

void ShardThread::StopOnThread() {
  CHECK(loop_ != nullptr);
  if (stop_ran_) return;
  stop_ran_ = true;
  if (hooks_.on_stop) {
    hooks_.on_stop();
  } else {
    loop_->Stop();
  }
}

void ShardThread::Main(LoopFactory make_loop) {
  if (options_.log_shard_id >= 0) SetThreadShardId(options_.log_shard_id);
  if (options_.cpu >= 0) PinToCpu(options_.cpu);
  if (!options_.name.empty()) {
    const std::string name = options_.name.substr(0, kThreadNameBytesMax);
    pthread_setname_np(pthread_self(), name.c_str());
  }

  std::unique_ptr<Loop> loop;
  absl::Status status;
  if (absl::StatusOr<std::unique_ptr<Loop>> made = make_loop(); made.ok()) {
    loop = *std::move(made);
    CHECK(loop != nullptr);
    if (hooks_.set_up) status = hooks_.set_up(loop.get());
  } else {
    status = made.status();
  }
  if (!status.ok()) {
    setup_status_ = std::move(status);
    ready_.Notify();
    if (loop != nullptr && hooks_.tear_down) hooks_.tear_down();
    return;  // the loop goes on this thread
  }

  bool stop_requested;
  {
    absl::MutexLock lock(&mutex_);
    mailbox_ = loop->mailbox();
    stop_requested = stop_requested_;
  }
  loop_ = loop.get();
  ready_.Notify();
  if (stop_requested) StopOnThread();
  loop->Run();
  if (hooks_.tear_down) hooks_.tear_down();
  loop_ = nullptr;
  loop.reset();
}

std::vector<int> AllowedCpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
    }
  }
  if (cpus.empty()) cpus.push_back(0);
  return cpus;
}

}  // namespace tern::core
