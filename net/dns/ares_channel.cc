// Implementation of net/dns/ares_channel.h: socket watchers on the loop's readiness polls, c-ares
// timeouts on the timer wheel.
#include "net/dns/ares_channel.h"

#include <arpa/nameser.h>
#include <poll.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/check.h"
#include "core/log.h"

namespace tern::net::dns {
namespace {

// Consecutive failed polls on one socket before it is left to c-ares' timeouts (a poll
// that fails at once would otherwise spin the loop).
constexpr int kPollErrorsMax = 8;

absl::Status InitAresLibrary() {
  static std::once_flag once;
  static int rc = ARES_SUCCESS;
  std::call_once(once, [] { rc = ares_library_init(ARES_LIB_INIT_ALL); });
  if (rc != ARES_SUCCESS) {
    return absl::InternalError(absl::StrCat("ares_library_init: ", ares_strerror(rc)));
  }
  return absl::OkStatus();
}

}  // namespace

// Watches one c-ares socket with a one-shot poll at a time.
class AresChannel::SocketWatcher : public core::Completion {
 public:
  SocketWatcher(AresChannel* owner, int fd) : owner_(owner), fd_(fd) {}

  // c-ares wants the socket watched for `read` and/or `write` (at least one).
  void Want(bool read, bool write) {
    want_ = (read ? POLLIN : 0) | (write ? POLLOUT : 0);
    CHECK_NE(want_, 0u);
    if (!in_flight_) {
      if (!processing_) Arm();  // else re-armed when processing ends
    } else if ((want_ & ~armed_mask_) != 0) {
      RemovePoll();  // re-armed with the new mask when the cancelled poll comes back
    }
  }

  // c-ares closes the socket. Returns true when the watcher may be freed now.
  bool Close() {
    closed_ = true;
    want_ = 0;
    if (in_flight_) RemovePoll();
    return !in_flight_ && !processing_;
  }

  // The owner goes away: free ourselves when the loop returns the poll.
  void Orphan() {
    if (in_flight_) RemovePoll();
    owner_ = nullptr;
  }

  bool in_flight() const { return in_flight_; }

  void OnComplete(int32_t res, uint32_t flags) override {
    CHECK(in_flight_);
    in_flight_ = false;
    remove_sent_ = false;
    if (owner_ == nullptr) {
      delete this;
      return;
    }
    if (!closed_ && res != -ECANCELED) Ready(res);
    if (closed_) {
      owner_->Forget(this);  // frees this
      return;
    }
    if (want_ != 0 && errors_ < kPollErrorsMax) Arm();
  }

 private:
  void Ready(int32_t res) {
    unsigned events = res >= 0 ? static_cast<unsigned>(res) : 0;
    if (res < 0) {
      ++errors_;
      TERN_LOG(kWarning, "poll on DNS socket %d failed: %s", fd_, strerror(-res));
      events = want_;  // let c-ares find the error itself
    } else {
      errors_ = 0;
    }
    const bool readable = (events & (POLLIN | POLLERR | POLLHUP)) != 0 && (want_ & POLLIN);
    const bool writable = (events & (POLLOUT | POLLERR | POLLHUP)) != 0 && (want_ & POLLOUT);
    if (!readable && !writable) return;
    processing_ = true;
    owner_->Process(readable ? fd_ : ARES_SOCKET_BAD, writable ? fd_ : ARES_SOCKET_BAD);
    processing_ = false;
  }

  void Arm() {
    CHECK(!in_flight_);
    CHECK(!closed_);
    owner_->loop_->PollOnce(fd_, want_, this);
    armed_mask_ = want_;
    in_flight_ = true;
  }

  void RemovePoll() {
    if (remove_sent_) return;
    // The poll completes -ECANCELED, or normally if it raced the removal.
    CHECK(owner_ != nullptr);
    owner_->loop_->CancelPoll(this);
    remove_sent_ = true;
  }

  AresChannel* owner_;
  const int fd_;
  unsigned want_ = 0;
  unsigned armed_mask_ = 0;
  bool in_flight_ = false;
  bool remove_sent_ = false;
  bool closed_ = false;
  bool processing_ = false;
  int errors_ = 0;
};

AresChannel::AresChannel(core::Loop* loop) : loop_(loop), timeout_(this) {}

absl::StatusOr<std::unique_ptr<AresChannel>> AresChannel::Create(
    core::Loop* loop, const AresChannelOptions& options) {
  if (options.timeout_ms <= 0) return absl::InvalidArgumentError("DNS timeout_ms must be > 0");
  if (options.tries <= 0) return absl::InvalidArgumentError("DNS tries must be > 0");
  if (absl::Status s = InitAresLibrary(); !s.ok()) return s;
  if (options.queries_in_flight_max == 0) {
    return absl::InvalidArgumentError("DNS queries_in_flight_max must be > 0");
  }
  std::unique_ptr<AresChannel> channel(new AresChannel(loop));
  channel->options_ = options;

  ares_options o{};
  int mask = 0;
  o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_EDNS;
  mask |= ARES_OPT_FLAGS;
  o.timeout = options.timeout_ms;
  mask |= ARES_OPT_TIMEOUTMS;
  o.tries = options.tries;
  mask |= ARES_OPT_TRIES;
  o.domains = nullptr;
  o.ndomains = 0;
  mask |= ARES_OPT_DOMAINS;
  char lookups[] = "b";  // DNS only, never /etc/hosts
  o.lookups = lookups;
  mask |= ARES_OPT_LOOKUPS;
  o.ednspsz = options.udp_payload_bytes;
  mask |= ARES_OPT_EDNSPSZ;
  o.sock_state_cb = &AresChannel::OnSocketState;
  o.sock_state_cb_data = channel.get();
  mask |= ARES_OPT_SOCK_STATE_CB;
  mask |= ARES_OPT_NOROTATE;  // the first server is the preferred one
  int rc = ares_init_options(&channel->channel_, &o, mask);
  if (rc != ARES_SUCCESS) {
    channel->channel_ = nullptr;
    return absl::InternalError(absl::StrCat("ares_init_options: ", ares_strerror(rc)));
  }
  if (!options.servers.empty()) {
    const std::string csv = absl::StrJoin(options.servers, ",");
    rc = ares_set_servers_ports_csv(channel->channel_, csv.c_str());
    if (rc != ARES_SUCCESS) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad DNS server list \"", csv, "\": ", ares_strerror(rc)));
    }
  }
  return channel;
}

AresChannel::~AresChannel() {
  cancelling_ = true;
  if (channel_ != nullptr) ares_destroy(channel_);  // closes sockets: OnSocketState(fd, 0, 0)
  channel_ = nullptr;
  for (auto& query : queued_) query->callback(query->arg, ARES_EDESTRUCTION, 0, nullptr, 0);
  queued_.clear();
  for (auto& [raw, owned] : watchers_) {
    if (raw->in_flight()) {
      raw->Orphan();
      (void)owned.release();  // frees itself when its poll completes
    }
  }
  watchers_.clear();
  by_fd_.clear();
  loop_->Submit();
}

void AresChannel::Query(const std::string& name, int type, ares_callback callback, void* arg) {
  if (cancelling_) {
    callback(arg, channel_ != nullptr ? ARES_ECANCELLED : ARES_EDESTRUCTION, 0, nullptr, 0);
    return;
  }
  CHECK(channel_ != nullptr);
  auto query = std::make_unique<PendingQuery>(PendingQuery{this, name, type, callback, arg});
  if (in_flight_ < options_.queries_in_flight_max) {
    Send(std::move(query));
    return;
  }
  if (queued_.size() >= options_.queries_queued_max) {
    TERN_LOG(kWarning, "DNS query queue full (%zu): failing %s", queued_.size(), name);
    callback(arg, ARES_ENOMEM, 0, nullptr, 0);
    return;
  }
  queued_.push_back(std::move(query));
}

void AresChannel::Send(std::unique_ptr<PendingQuery> query) {
  ++in_flight_;
  PendingQuery* raw = query.release();  // freed by OnAnswer
  ares_query(channel_, raw->name.c_str(), ns_c_in, raw->type, &AresChannel::OnAnswer, raw);
  ArmTimeout();
}

void AresChannel::OnAnswer(void* arg, int status, int timeouts, unsigned char* abuf, int alen) {
  std::unique_ptr<PendingQuery> query(static_cast<PendingQuery*>(arg));
  AresChannel* self = query->channel;
  CHECK_GT(self->in_flight_, 0u);
  --self->in_flight_;
  query->callback(query->arg, status, timeouts, abuf, alen);
  self->SendQueued();
}

void AresChannel::SendQueued() {
  while (!cancelling_ && channel_ != nullptr && !queued_.empty() &&
         in_flight_ < options_.queries_in_flight_max) {
    std::unique_ptr<PendingQuery> next = std::move(queued_.front());
    queued_.pop_front();
    Send(std::move(next));
  }
}

void AresChannel::CancelAll() {
  cancelling_ = true;
  ares_cancel(channel_);
  while (!queued_.empty()) {
    std::unique_ptr<PendingQuery> query = std::move(queued_.front());
    queued_.pop_front();
    query->callback(query->arg, ARES_ECANCELLED, 0, nullptr, 0);
  }
  cancelling_ = false;
  ArmTimeout();
}

void AresChannel::OnSocketState(void* data, ares_socket_t fd, int readable, int writable) {
  auto* self = static_cast<AresChannel*>(data);
  auto it = self->by_fd_.find(fd);
  if (!readable && !writable) {
    if (it == self->by_fd_.end()) return;
    SocketWatcher* watcher = it->second;
    self->by_fd_.erase(it);
    if (watcher->Close()) self->watchers_.erase(watcher);
    return;
  }
  SocketWatcher* watcher;
  if (it != self->by_fd_.end()) {
    watcher = it->second;
  } else {
    auto owned = std::make_unique<SocketWatcher>(self, fd);
    watcher = owned.get();
    self->watchers_.emplace(watcher, std::move(owned));
    self->by_fd_.emplace(fd, watcher);
  }
  watcher->Want(readable != 0, writable != 0);
}

void AresChannel::Process(ares_socket_t read_fd, ares_socket_t write_fd) {
  ares_process_fd(channel_, read_fd, write_fd);
  ArmTimeout();
}

void AresChannel::ArmTimeout() {
  timeval tv{};
  if (channel_ == nullptr || ares_timeout(channel_, nullptr, &tv) == nullptr) {
    loop_->timers().Cancel(&timeout_);
    return;
  }
  loop_->timers().Arm(&timeout_, loop_->now() + absl::DurationFromTimeval(tv));
}

void AresChannel::TimeoutTimer::OnTimer() { channel_->Process(ARES_SOCKET_BAD, ARES_SOCKET_BAD); }

void AresChannel::Forget(SocketWatcher* watcher) {
  CHECK(!watcher->in_flight());
  watchers_.erase(watcher);
}

}  // namespace tern::net::dns
