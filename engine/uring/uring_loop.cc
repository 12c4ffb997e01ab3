// Implementation of engine/uring/uring_loop.h: ring set-up with feature probing, the run
// loop, and the read of the eventfd that lets other threads wake a shard.
#include "engine/uring/uring_loop.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/check.h"
#include "core/log.h"
#include "core/status_macros.h"

namespace tern::engine::uring {
namespace {

constexpr unsigned kCqeBatch = 256;
// Kernel 6.15 uapi (include/uapi/linux/io_uring.h), newer than Debian 12's liburing 2.3
// headers: io_uring_params.features bit, and io_uring_enter flag.
constexpr uint32_t kFeatNoIowait = 1U << 17;
constexpr unsigned kEnterNoIowait = 1U << 7;

// The errno of the last failed io_uring_setup (see UringLoop::setup_errno()).
std::atomic<int> last_setup_errno{0};

// Kernel version as major*1000+minor, for features that have no probe bit (multishot
// flags on accept and recv).
int KernelVersion() {
  utsname u{};
  if (uname(&u) != 0) return 0;
  int major = 0, minor = 0;
  if (sscanf(u.release, "%d.%d", &major, &minor) != 2) return 0;
  return major * 1000 + minor;
}

bool ProbeBufferRing(io_uring* ring) {
  // Register and drop a one-entry ring under a scratch group id.
  void* mem = nullptr;
  size_t bytes = sizeof(io_uring_buf);
  if (posix_memalign(&mem, 4096, 4096) != 0) return false;
  (void)bytes;
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(mem);
  reg.ring_entries = 1;
  reg.bgid = 0xfffe;
  bool ok = io_uring_register_buf_ring(ring, &reg, 0) == 0;
  if (ok) io_uring_unregister_buf_ring(ring, 0xfffe);
  free(mem);
  return ok;
}

}  // namespace

std::string RingFeatures::Describe() const {
  std::vector<std::string> parts;
  auto add = [&](bool on, const char* name) {
    parts.push_back(absl::StrCat(name, on ? "=on" : "=off"));
  };
  add(single_issuer, "single_issuer");
  add(defer_taskrun, "defer_taskrun");
  add(coop_taskrun, "coop_taskrun");
  add(multishot_accept, "multishot_accept");
  add(multishot_recv, "multishot_recv");
  add(provided_buffer_ring, "provided_buffer_ring");
  add(no_iowait, "no_iowait");
  return absl::StrJoin(parts, " ");
}

class UringLoop::WakeReader : public core::Completion {
 public:
  explicit WakeReader(UringLoop* loop) : loop_(loop) {}
  void OnComplete(int32_t res, uint32_t flags) override {
    loop_->DeliverWake();
    if (res < 0 && res != -EAGAIN && res != -EINTR && res != -ECANCELED) {
      TERN_LOG(kError, "eventfd read failed: %s", strerror(-res));
    }
    if (res != -ECANCELED) loop_->ArmWakeRead();
  }

 private:
  UringLoop* loop_;
};

int UringLoop::setup_errno() { return last_setup_errno.load(); }

UringLoop* UringLoop::Of(core::Loop* loop) {
  auto* uring = dynamic_cast<UringLoop*>(loop);
  CHECK(uring != nullptr);
  return uring;
}

absl::StatusOr<std::unique_ptr<UringLoop>> UringLoop::Create(const UringLoopOptions& options) {
  std::unique_ptr<UringLoop> loop(new UringLoop());
  const unsigned base = IORING_SETUP_SUBMIT_ALL;
  struct Attempt {
    unsigned flags;
    bool single_issuer, defer_taskrun, coop_taskrun;
  };
  const Attempt attempts[] = {
      {base | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, true, true, false},
      {base | IORING_SETUP_COOP_TASKRUN, false, false, true},
      {base, false, false, false},
      {0, false, false, false},
  };
  int rc = -EINVAL;
  for (const Attempt& a : attempts) {
    io_uring_params params{};
    params.flags = a.flags;
    params.cq_entries = options.sq_entries * 4;
    params.flags |= IORING_SETUP_CQSIZE;
    rc = io_uring_queue_init_params(options.sq_entries, &loop->ring_, &params);
    if (rc == 0) {
      loop->features_.no_iowait = (params.features & kFeatNoIowait) != 0;
      loop->features_.single_issuer = a.single_issuer;
      loop->features_.defer_taskrun = a.defer_taskrun;
      loop->features_.coop_taskrun = a.coop_taskrun;
      break;
    }
    if (rc != -EINVAL) break;
  }
  if (rc != 0) {
    last_setup_errno.store(-rc);
    return absl::UnavailableError(
        absl::StrCat("io_uring_queue_init failed: ", strerror(-rc),
                     " (is io_uring disabled by kernel.io_uring_disabled or seccomp?)"));
  }
  loop->ring_ready_ = true;
  const int version = KernelVersion();
  loop->features_.multishot_accept = version >= 5019;
  loop->features_.multishot_recv = version >= 6000;
  loop->features_.provided_buffer_ring = ProbeBufferRing(&loop->ring_);

  RETURN_IF_ERROR(loop->InitWake());
  loop->wake_reader_ = std::make_unique<WakeReader>(loop.get());
  loop->ArmWakeRead();
  return loop;
}

UringLoop::~UringLoop() {
  if (ring_ready_) io_uring_queue_exit(&ring_);
}

void UringLoop::ArmWakeRead() {
  io_uring_sqe* sqe = PrepareSqe(wake_reader_.get());
  io_uring_prep_read(sqe, wake_fd(), &wake_value_, sizeof(wake_value_), 0);
}

io_uring_sqe* UringLoop::PrepareSqe(core::Completion* completion) {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) {
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  CHECK(sqe != nullptr);
  io_uring_sqe_set_data(sqe, completion);
  return sqe;
}

void UringLoop::Submit() { io_uring_submit(&ring_); }

void UringLoop::WakeSoon() { io_uring_prep_nop(PrepareSqe(nullptr)); }

void UringLoop::RunSoon(absl::AnyInvocable<void()> fn) {
  // Owns itself until its NOP completes.
  struct Deferred final : core::Completion {
    absl::AnyInvocable<void()> fn;
    void OnComplete(int32_t, uint32_t) override {
      auto f = std::move(fn);
      delete this;
      f();
    }
  };
  auto* deferred = new Deferred;
  deferred->fn = std::move(fn);
  io_uring_prep_nop(PrepareSqe(deferred));
}

void UringLoop::PollOnce(int fd, unsigned poll_events, core::Completion* done) {
  io_uring_prep_poll_add(PrepareSqe(done), fd, poll_events);
}

void UringLoop::CancelPoll(core::Completion* done) {
  // The removal's own completion is ignored; the poll completes -ECANCELED, or normally if
  // it raced the removal.
  io_uring_prep_poll_remove(PrepareSqe(nullptr), reinterpret_cast<__u64>(done));
}

void UringLoop::WakeAtMonotonic(int64_t monotonic_ns, core::Completion* done) {
  // The kernel reads the timespec when the SQE is submitted: submit now, so one timespec
  // serves every call.
  static thread_local __kernel_timespec when;
  when.tv_sec = monotonic_ns / 1000000000;
  when.tv_nsec = monotonic_ns % 1000000000;
  io_uring_prep_timeout(PrepareSqe(done), &when, 0, IORING_TIMEOUT_ABS);
  Submit();
}

void UringLoop::AppendWrite(int fd, const char* data, size_t size, core::Completion* done) {
  // Offset -1: the file position, which O_APPEND keeps at the end.
  io_uring_prep_write(PrepareSqe(done), fd, data, static_cast<unsigned>(size),
                      static_cast<uint64_t>(-1));
}

void UringLoop::ProcessCompletions() {
  io_uring_cqe* cqes[kCqeBatch];
  while (true) {
    unsigned n = io_uring_peek_batch_cqe(&ring_, cqes, kCqeBatch);
    if (n == 0) return;
    for (unsigned i = 0; i < n; ++i) {
      auto* completion = static_cast<core::Completion*>(io_uring_cqe_get_data(cqes[i]));
      const int32_t res = cqes[i]->res;
      const uint32_t flags = cqes[i]->flags;
      if (completion != nullptr) completion->OnComplete(res, flags);
    }
    io_uring_cq_advance(&ring_, n);
    if (n < kCqeBatch) return;
  }
}

int UringLoop::SubmitAndWait(absl::Time deadline) {
  __kernel_timespec ts{0, 0};
  if (deadline != absl::InfiniteFuture()) {
    const timespec wait = absl::ToTimespec(std::max(deadline - absl::Now(), absl::ZeroDuration()));
    ts = __kernel_timespec{wait.tv_sec, wait.tv_nsec};
  }
  if (!features_.no_iowait) {
    io_uring_cqe* cqe = nullptr;
    return deadline == absl::InfiniteFuture()
               ? io_uring_submit_and_wait(&ring_, 1)
               : io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
  }
  // Submit and reap (running deferred task work) without sleeping; sleep only when that
  // brought nothing, with the wait not counted as iowait. liburing 2.3 has no flag for it.
  const int submitted = io_uring_submit_and_get_events(&ring_);
  if (submitted < 0 || io_uring_cq_ready(&ring_) > 0) return submitted;
  io_uring_getevents_arg arg{};
  if (deadline != absl::InfiniteFuture()) arg.ts = reinterpret_cast<uint64_t>(&ts);
  return io_uring_enter2(static_cast<unsigned>(ring_.ring_fd), 0, 1,
                         IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG | kEnterNoIowait,
                         reinterpret_cast<sigset_t*>(&arg), sizeof(arg));
}

void UringLoop::Run() {
  while (!stopping()) {
    const int rc = SubmitAndWait(timers().NextDeadline());
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN) {
      TERN_LOG(kError, "io_uring wait failed: %s", strerror(-rc));
    }
    // Completions see the time they arrived at: a deadline armed while handling one
    // (an accepted connection's idle timeout) counts from now, not from before the wait.
    set_now(absl::Now());
    ProcessCompletions();
    FinishIteration();
  }
  io_uring_submit(&ring_);
}

}  // namespace tern::engine::uring
