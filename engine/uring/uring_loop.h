// UringLoop: core::Loop on one io_uring ring per shard. This is the io_uring engine's
// centre; everything else in engine/uring/ prepares its operations through PrepareSqe():
//
//   UringTransport / UringConnection  accept, recv (into a ProvidedBufferRing), send,
//                                     connect, cancel, close
//   RingStorage                       the spool's writev + fdatasync chains, opens, reads
//   UringLoop itself                  the wake eventfd read, NOPs (WakeSoon, RunSoon),
//                                     POLL_ADD (c-ares sockets), absolute TIMEOUTs,
//                                     append WRITEs (core/append_file.h)
//
// Every SQE's user_data is a core::Completion; when its CQE arrives the loop calls
// OnComplete(res, flags). Multishot operations complete many times (IORING_CQE_F_MORE set
// while more will follow). After each batch of completions the loop runs its iteration
// hooks, then submits everything prepared and waits for the next completion or the
// nearest timer.
//
//   ASSIGN_OR_RETURN(auto loop, engine::UringLoop::Create(options));
//   io_uring_sqe* sqe = loop->PrepareSqe(&my_completion);
//   io_uring_prep_send(sqe, fd, data, len, 0);
//   loop->Run();  // until Stop()
#pragma once

#include <liburing.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/loop.h"

namespace tern::engine::uring {

// What the kernel offered at start-up, chosen once (see UringLoop::Create).
struct RingFeatures {
  bool single_issuer = false;
  bool defer_taskrun = false;
  bool coop_taskrun = false;
  bool multishot_accept = false;
  bool multishot_recv = false;
  bool provided_buffer_ring = false;
  // The wait is not accounted as iowait (IORING_FEAT_NO_IOWAIT, kernel 6.15): an idle
  // ring no longer shows the host as "98% iowait" while its disk does nothing.
  bool no_iowait = false;
  std::string Describe() const;
};

struct UringLoopOptions {
  unsigned sq_entries = 4096;
};

class UringLoop final : public core::Loop {
 public:
  // Creates the ring, probing features. Call on the thread that will run the loop.
  // Unavailable (with the errno of io_uring_setup in the message) when io_uring is denied
  // or missing: see setup_errno().
  static absl::StatusOr<std::unique_ptr<UringLoop>> Create(const UringLoopOptions& options);
  // The errno of the last failed io_uring_setup of Create() in this process (0: none):
  // ENOSYS or EPERM mean the kernel or a seccomp filter refuses io_uring.
  static int setup_errno();
  ~UringLoop() override;

  // The loop a core::Loop* of this engine is (CHECKs that it is one).
  static UringLoop* Of(core::Loop* loop);

  // Returns an SQE whose user_data is `completion` (nullptr: the CQE is ignored). Never
  // fails: when the submission queue is full, what is queued is submitted first.
  io_uring_sqe* PrepareSqe(core::Completion* completion);
  io_uring* ring() { return &ring_; }
  const RingFeatures& features() const { return features_; }

  void Run() override;
  void WakeSoon() override;
  void RunSoon(absl::AnyInvocable<void()> fn) override;
  void Submit() override;
  void PollOnce(int fd, unsigned poll_events, core::Completion* done) override;
  void CancelPoll(core::Completion* done) override;
  void WakeAtMonotonic(int64_t monotonic_ns, core::Completion* done) override;
  void AppendWrite(int fd, const char* data, size_t size, core::Completion* done) override;
  const char* engine_name() const override { return "io_uring"; }
  std::string DescribeFeatures() const override { return features_.Describe(); }

 private:
  class WakeReader;
  class PreciseTimeout;
  UringLoop() = default;
  void ProcessCompletions();
  void ArmWakeRead();
  // Submits, and waits for one completion until `deadline` (InfiniteFuture: no bound).
  // Returns the io_uring_enter result (-errno on failure).
  int SubmitAndWait(absl::Time deadline);

  io_uring ring_{};
  bool ring_ready_ = false;
  RingFeatures features_;
  uint64_t wake_value_ = 0;
  std::unique_ptr<WakeReader> wake_reader_;
};

}  // namespace tern::engine::uring
