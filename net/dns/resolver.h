// Resolver: one shard's asynchronous DNS resolver for mail delivery — MX lookups with the
// RFC 5321 §5.1 address fallback and RFC 7505 null MX, and A/AAAA lookups — over c-ares
// sockets driven by the shard's ring (see ring_channel.h), with a per-shard cache.
//
// Results always arrive later on the loop thread, never inside the Resolve call (cache hits
// too), so a caller is never re-entered. Status codes tell delivery what to do:
//   NotFound         NXDOMAIN, or no MX and no address: bounce at once
//   Unavailable      SERVFAIL, timeout, refused, unreachable server, malformed reply: defer
//   InvalidArgument  not a valid domain name
//   Cancelled        the resolver was shut down
// Every message names the lookup, the domain and the c-ares error.
//
// The cache is keyed case-insensitively and bounded (least recently used entry evicted at
// cache_entries_max). Answers live for the minimum TTL of their records, capped at ttl_max;
// NotFound answers live for negative_ttl; failures are not cached. Lookups of a name already
// in flight join it (one query, many callbacks).
//
//   ASSIGN_OR_RETURN(auto resolver, dns::Resolver::Create(loop, {.servers = {"127.0.0.1:53"}}));
//   resolver->ResolveMx("example.com", [](absl::StatusOr<dns::MxResult> mx) {
//     if (!mx.ok()) return Defer(mx.status());  // or bounce when IsNotFound
//     if (mx->null_mx) return Bounce("domain accepts no mail (RFC 7505)");
//     for (const dns::MxHost& h : mx->hosts) ...;
//   });
//   ...
//   resolver->Shutdown();  // at the end: run the loop until resolver->idle(), then destroy
//
// Not thread-safe: use it on its loop's thread only (counters may be read from any thread).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/loop.h"
#include "net/dns/ares_channel.h"
#include "net/dns/deferred_calls.h"
#include "net/dns/dns_result.h"
#include "net/dns/ttl_cache.h"

namespace tern::net::dns {

struct ResolverOptions {
  // Name servers as "IP:PORT", "IP" or "[IPv6]:PORT" (--dns_servers). Empty: resolv.conf.
  std::vector<std::string> servers;
  int timeout_ms = 2000;  // per try and server
  int tries = 2;
  size_t cache_entries_max = 10000;  // MX and address caches each; 0 disables caching
  absl::Duration negative_ttl = absl::Seconds(60);
  absl::Duration ttl_max = absl::Hours(24);
};

// Relaxed atomics: written by the shard, read by whoever reports them.
struct ResolverCounters {
  std::atomic<uint64_t> queries_sent{0};  // DNS queries (an address lookup sends two)
  std::atomic<uint64_t> cache_hits{0};
  std::atomic<uint64_t> coalesced{0};  // lookups that joined one already in flight
  std::atomic<uint64_t> nxdomain{0};
  std::atomic<uint64_t> unavailable{0};  // SERVFAIL, timeouts, refused, connection errors
};

class Resolver {
 public:
  using MxCallback = absl::AnyInvocable<void(absl::StatusOr<MxResult>)>;
  using AddressCallback = absl::AnyInvocable<void(absl::StatusOr<AddressResult>)>;

  static absl::StatusOr<std::unique_ptr<Resolver>> Create(core::Loop* loop,
                                                          const ResolverOptions& options);
  // Shuts down if not yet done. Callbacks not yet delivered are destroyed without being
  // called. Safe with queries in flight; poll completions still owed by the ring are freed
  // when the ring returns them (keep the loop running a moment, or they leak with it).
  // Must not be called from inside one of this resolver's callbacks (use Shutdown()).
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // The mail exchangers of `domain` (RFC 5321 §5.1), delivered on the loop.
  void ResolveMx(absl::string_view domain, MxCallback done);
  // The IPv4 and IPv6 addresses of `host` (A and AAAA queries together), on the loop. OK
  // when either family has addresses; NotFound when neither has.
  void ResolveAddresses(absl::string_view host, AddressCallback done);

  // Cancels every outstanding lookup: each callback gets absl::CancelledError, delivered on
  // the loop like any result; later lookups get CancelledError too. Run the loop until
  // idle() to deliver them and let the ring return the sockets' polls.
  void Shutdown();
  // Nothing in flight, nothing to deliver, no socket watched.
  bool idle() const;

  const ResolverCounters& counters() const { return counters_; }
  size_t cache_entries() const { return mx_cache_.size() + address_cache_.size(); }

 private:
  struct MxLookup;
  struct AddressLookup;
  struct AddressPart;
  template <typename T>
  using Waiter = absl::AnyInvocable<void(const absl::StatusOr<T>&)>;

  Resolver(core::Loop* loop, const ResolverOptions& options);
  // Internal lookups: the waiter runs when the answer is known, possibly inside the call.
  void LookupMx(const std::string& name, Waiter<MxResult> waiter);
  void LookupAddresses(const std::string& name, Waiter<AddressResult> waiter);
  static void OnMxAnswer(void* arg, int status, int timeouts, unsigned char* abuf, int alen);
  static void OnAddressAnswer(void* arg, int status, int timeouts, unsigned char* abuf, int alen);
  void MxFromAddresses(const std::string& name, const absl::StatusOr<AddressResult>& addresses);
  void CompleteAddresses(AddressLookup* lookup);
  void FinishMx(const std::string& name, absl::StatusOr<MxResult> result, absl::Duration cache_ttl);
  void FinishAddresses(const std::string& name, absl::StatusOr<AddressResult> result,
                       absl::Duration cache_ttl);
  void CountFailure(const absl::Status& status, bool nxdomain);
  void ShuffleTies(std::vector<MxHost>* hosts);

  core::Loop* const loop_;
  const ResolverOptions options_;
  ResolverCounters counters_;
  DeferredCalls deferred_;
  std::unique_ptr<AresChannel> channel_;
  bool shut_down_ = false;
  absl::BitGen random_;
  TtlCache<absl::StatusOr<MxResult>> mx_cache_;
  TtlCache<absl::StatusOr<AddressResult>> address_cache_;
  absl::flat_hash_map<std::string, std::unique_ptr<MxLookup>> mx_lookups_;
  absl::flat_hash_map<std::string, std::unique_ptr<AddressLookup>> address_lookups_;
};

}  // namespace tern::net::dns
