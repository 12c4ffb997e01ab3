// AresChannel: a c-ares channel whose sockets are driven by a shard's loop (whatever its
// I/O engine), so DNS needs no resolver thread and no blocking call on the shard.
//
// c-ares reports through its socket-state callback which sockets it wants watched for
// reading or writing; each such socket gets a one-shot core::Loop::PollOnce (re-armed after every
// completion, so readiness is level-triggered as c-ares expects) and readiness becomes
// ares_process_fd(). c-ares' own timeouts run from a core::Timer armed at ares_timeout()
// after every call into c-ares. When c-ares closes a socket its poll is removed; the
// watcher object lives until the loop has returned its last completion.
//
//   ASSIGN_OR_RETURN(auto channel, AresChannel::Create(loop, {.servers = {"127.0.0.1:53"}}));
//   channel->Query("example.com", ns_t_mx, &OnAnswer, arg);
//   ...
//   channel->CancelAll();  // at shutdown; run the loop until channel->idle()
#pragma once

#include <ares.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "core/loop.h"
#include "core/timer_wheel.h"

namespace tern::net::dns {

struct AresChannelOptions {
  // Name servers as "IP:PORT", "IP" (port 53) or "[IPv6]:PORT". Empty: /etc/resolv.conf.
  std::vector<std::string> servers;
  int timeout_ms = 2000;         // first try's timeout per server (c-ares backs off after)
  int tries = 2;                 // rounds over the server list
  int udp_payload_bytes = 1232;  // EDNS0 buffer size advertised (the DNS Flag Day value)
  // Queries on the wire at once; more wait in a FIFO (a burst of answers must fit the
  // socket's receive buffer, or the kernel drops them and they time out).
  size_t queries_in_flight_max = 64;
  // Queries waiting for a slot; beyond this a query fails at once (ARES_ENOMEM).
  size_t queries_queued_max = 100000;
};

class AresChannel {
 public:
  static absl::StatusOr<std::unique_ptr<AresChannel>> Create(core::Loop* loop,
                                                             const AresChannelOptions& options);
  // Destroys the c-ares channel (pending queries' callbacks run with ARES_EDESTRUCTION).
  // Polls still in flight are cancelled; their watchers free themselves when the loop
  // returns them, so keep the loop running a moment after, or they leak with the loop.
  ~AresChannel();
  AresChannel(const AresChannel&) = delete;
  AresChannel& operator=(const AresChannel&) = delete;

  // Sends a class IN query for `name` of `type` (ns_t_mx, ns_t_a, ...), without search
  // domains, now or when a slot frees (queries_in_flight_max). `callback` runs on the loop
  // from inside c-ares, or inside this call when c-ares fails at once (a bad name, a full
  // queue).
  void Query(const std::string& name, int type, ares_callback callback, void* arg);
  // Ends every outstanding query, sent or queued, now: callbacks run with ARES_ECANCELLED.
  // Queries started from those callbacks are cancelled too.
  void CancelAll();
  size_t queries_in_flight() const { return in_flight_; }
  size_t queries_queued() const { return queued_.size(); }

  // No query outstanding, no socket watched and no poll completion owed by the loop.
  bool idle() const { return in_flight_ == 0 && queued_.empty() && watchers_.empty(); }
  size_t sockets_watched() const { return by_fd_.size(); }

 private:
  class SocketWatcher;
  struct PendingQuery {
    AresChannel* channel;
    std::string name;
    int type;
    ares_callback callback;
    void* arg;
  };
  class TimeoutTimer : public core::Timer {
   public:
    explicit TimeoutTimer(AresChannel* channel) : channel_(channel) {}
    void OnTimer() override;

   private:
    AresChannel* channel_;
  };

  explicit AresChannel(core::Loop* loop);
  void Send(std::unique_ptr<PendingQuery> query);
  // Called by c-ares for every sent query: frees the slot, then calls the caller's callback.
  static void OnAnswer(void* arg, int status, int timeouts, unsigned char* abuf, int alen);
  void SendQueued();
  static void OnSocketState(void* data, ares_socket_t fd, int readable, int writable);
  // Calls ares_process_fd, then re-arms the timeout timer.
  void Process(ares_socket_t read_fd, ares_socket_t write_fd);
  void ArmTimeout();
  // Frees a watcher whose socket is closed and whose poll came back.
  void Forget(SocketWatcher* watcher);

  core::Loop* loop_;
  AresChannelOptions options_;
  ares_channel channel_ = nullptr;
  size_t in_flight_ = 0;
  bool cancelling_ = false;
  std::deque<std::unique_ptr<PendingQuery>> queued_;
  TimeoutTimer timeout_;
  // Watchers of open sockets, by fd (an fd can be reused while its old watcher drains).
  absl::flat_hash_map<int, SocketWatcher*> by_fd_;
  // Every watcher, open or draining.
  absl::flat_hash_map<SocketWatcher*, std::unique_ptr<SocketWatcher>> watchers_;
};

}  // namespace tern::net::dns
