// InboundBalance: keeps the shards evenly loaded with inbound (SMTP) connections. Every
// shard accepts on its own SO_REUSEPORT socket; for each connection it accepts it asks
// Place() which shard should serve it, and when that is another shard it hands the accepted
// socket over (the caller's mailbox post; the other shard's Transport::Adopt()). Shared by
// all shards: one cache line of relaxed atomic counters per shard, no lock.
//
// Why a hand-off and not the kernel's choice alone (DESIGN.md, "Threading"): the
// SO_REUSEPORT hash split 50 connections of one client 37% / 63% over two shards. A
// SO_ATTACH_REUSEPORT_CBPF program cannot do better: it has no state, so it cannot count
// (round robin, least loaded), a better hash of the 4-tuple is still a coin toss per
// connection (50 tosses stray by ±7 often), and selecting by SKF_AD_CPU follows the CPU
// that ran the SYN's softirq, which on loopback (and on a NIC with one RX queue) is the
// sender's CPU: one client's burst would land on one shard. An eBPF program with a socket
// array and a counter map could, but needs CAP_BPF and a BPF toolchain ternd does not
// otherwise need. Placing by the shards' real counts is exact for a burst and follows
// uneven long-lived connections (a shard whose clients left gets the next ones); it costs
// one mailbox post per connection moved, and only when the kernel picked a busier shard.
// A shard cannot see the connections still queued on another's socket, so within a burst
// both move some to the other: up to half of a burst moves (15 to 25 of 50 measured).
//
// A shard's load is its open sessions (published by its own thread after every accept and
// every loop iteration) plus the connections handed to it and not yet adopted (counted at
// once by Place(), so a burst spreads before the adopting shard has run). The accepting
// shard keeps the connection unless another accepting shard holds fewer: after a burst on
// idle shards the loads differ by at most one, plus one per hand-off racing on another
// shard at the same moment.
//
//   net::InboundBalance balance(/*shards=*/2);           // outlives the shards
//   balance.SetAccepting(id, true);                      // shard id ready (false: stopping)
//   // shard `id`, for a socket it accepted:
//   const int owner = balance.Place(id);
//   if (owner == id) { serve it; balance.SetOpen(id, sessions); }
//   else { hand it to `owner`; that shard adopts it, SetOpen(owner, ...), then
//          balance.HandOffEnded(owner) (also when the socket is dropped on the way) }
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace tern::net {

class InboundBalance {
 public:
  explicit InboundBalance(int shards);
  InboundBalance(const InboundBalance&) = delete;
  InboundBalance& operator=(const InboundBalance&) = delete;

  int shards() const { return shards_; }
  // Whether `shard` takes connections: false until it runs, false again once it stops
  // accepting. Place() never picks a shard that does not (except the caller itself).
  void SetAccepting(int shard, bool accepting);
  // `shard`'s own thread only: the sessions it serves now.
  void SetOpen(int shard, uint64_t sessions);
  // For a connection `accepting_shard` just accepted: the shard to serve it, the caller
  // itself unless another accepting shard's load is lower (then the lowest; ties go to the
  // lowest shard number). When it is another shard, that shard's load includes the
  // connection from now on, until HandOffEnded().
  int Place(int accepting_shard);
  // The connection Place() sent to `shard` arrived there and is counted by SetOpen() (or
  // it was dropped on the way): it no longer counts as in flight. Any thread.
  void HandOffEnded(int shard);
  // Open sessions plus hand-offs in flight to `shard`.
  uint64_t load(int shard) const;

 private:
  // One cache line per shard: a shard's own stores do not slow the others' reads.
  struct alignas(64) Slot {
    std::atomic<uint64_t> sessions{0};
    std::atomic<uint64_t> incoming{0};
    std::atomic<bool> accepting{false};
  };
  const int shards_;
  std::unique_ptr<Slot[]> slots_;
};

}  // namespace tern::net
