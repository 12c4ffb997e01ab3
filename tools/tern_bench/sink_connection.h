// SinkConnection: ties one accepted connection (net/transport.h) to one SinkSession. It
// feeds the received bytes to the session and sends its replies (one send per received
// burst, and whatever queued meanwhile once that send completes), keeps the idle timeout,
// asks the thread's ReleaseScheduler to wake it when a held (--delay) reply is due, and
// frees itself once the transport has closed the socket.
//
// ReleaseScheduler: one per thread, a heap of (due time, connection) with one timer on the
// loop's wheel, re-armed every iteration for the earliest entry, so the loop's wait ends
// when a held reply is due rather than at the wheel's next poll (up to kPollMs later).
#pragma once

#include <cstdint>
#include <queue>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "core/loop.h"
#include "core/timer_wheel.h"
#include "net/transport.h"
#include "tools/tern_bench/sink_counters.h"
#include "tools/tern_bench/sink_session.h"

namespace tern::tools::tern_bench {

class SinkConnection;
class ReleaseScheduler;

// What the connections of one sink thread share; owned by the thread.
struct SinkConnectionContext {
  core::Loop* loop = nullptr;
  const SinkProfile* profile = nullptr;
  SinkCounters* counters = nullptr;
  SinkMessageObserver* observer = nullptr;
  ReleaseScheduler* releases = nullptr;
  absl::Duration idle_timeout = absl::Minutes(5);
  uint64_t fault_seed = 0;  // the run's; each connection's injector mixes in its own number
  uint32_t thread_index = 0;
  uint64_t accepted = 0;  // connections accepted by this thread so far
  absl::flat_hash_map<uint64_t, SinkConnection*> connections;  // live ones, by id
};

class ReleaseScheduler : public core::Timer {
 public:
  explicit ReleaseScheduler(SinkConnectionContext* context) : context_(context) {}
  // Wakes connection `connection_id` (if it still exists) at `due`.
  void Schedule(absl::Time due, uint64_t connection_id);
  // Call once per loop iteration (after the wheel advanced).
  void Rearm();
  void OnTimer() override;

 private:
  struct Entry {
    absl::Time due;
    uint64_t connection_id;
    bool operator>(const Entry& other) const { return due > other.due; }
  };
  SinkConnectionContext* context_;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap_;
};

class SinkConnection : public net::ConnectionHandler, public core::Timer {
 public:
  // How long a closing connection may take to flush its last replies.
  static constexpr absl::Duration kCloseGrace = absl::Seconds(10);

  // Takes over `connection`: greets (or faults) and starts receiving.
  static void Accept(SinkConnectionContext* context, net::Connection* connection);

  // Held replies may be due.
  void ReleaseHeld(absl::Time now);
  // The sink stops: held replies now, 421 4.3.2, then close.
  void Shutdown();
  // Closes now, whatever is still queued.
  void Abort() { Close(); }

  void OnReceive(absl::string_view bytes) override;
  void OnSendDone(absl::Status status) override;
  void OnPeerClosed(absl::Status status) override;
  void OnClosed() override;
  void OnTimer() override;  // idle timeout, or the close grace

 private:
  SinkConnection(SinkConnectionContext* context, net::Connection* connection, uint64_t seed);
  ~SinkConnection() override;
  void Flush();
  void Close();
  void ArmTimer(absl::Duration after);

  SinkConnectionContext* const context_;
  net::Connection* connection_;
  const uint64_t id_;
  SinkSession session_;
  std::string send_buffer_;  // replies in flight (the session keeps queuing its own)
  absl::Time release_scheduled_ = absl::InfiniteFuture();
  bool closing_ = false;
  bool peer_closed_ = false;  // the client sent its FIN: no more input
  bool in_grace_ = false;     // the timer now bounds the final flush
};

}  // namespace tern::tools::tern_bench
