// Implementation of net/dns/resolver.h: caching, coalescing, MX semantics (RFC 5321 §5.1,
// RFC 7505) and the mapping of answers to results.
#include "net/dns/resolver.h"

#include <arpa/nameser.h>

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "core/check.h"
#include "net/dns/ares_status.h"
#include "net/dns/dns_message.h"

namespace tern::net::dns {

struct Resolver::MxLookup {
  std::string name;
  std::vector<Waiter<MxResult>> waiters;
  Resolver* resolver = nullptr;
};

// One of the two queries (A, AAAA) of an address lookup.
struct Resolver::AddressPart {
  AddressLookup* lookup = nullptr;
  int ares_status = ARES_SUCCESS;
  absl::Status parse_error;
  AddressRecords records;
};

struct Resolver::AddressLookup {
  std::string name;
  std::vector<Waiter<AddressResult>> waiters;
  Resolver* resolver = nullptr;
  AddressPart parts[2];
  int outstanding = 0;
};

namespace {

constexpr uint32_t kTtlUnset = UINT32_MAX;

bool Negative(int ares_status) {
  return ares_status == ARES_ENOTFOUND || ares_status == ARES_ENODATA;
}

}  // namespace

Resolver::Resolver(core::Loop* loop, const ResolverOptions& options)
    : loop_(loop),
      options_(options),
      deferred_(loop),
      mx_cache_(options.cache_entries_max),
      address_cache_(options.cache_entries_max) {}

absl::StatusOr<std::unique_ptr<Resolver>> Resolver::Create(core::Loop* loop,
                                                           const ResolverOptions& options) {
  CHECK(loop != nullptr);
  if (options.negative_ttl < absl::ZeroDuration() || options.ttl_max < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("DNS cache TTLs must not be negative");
  }
  AresChannelOptions channel_options;
  channel_options.servers = options.servers;
  channel_options.timeout_ms = options.timeout_ms;
  channel_options.tries = options.tries;
  auto channel = AresChannel::Create(loop, channel_options);
  if (!channel.ok()) return channel.status();
  std::unique_ptr<Resolver> resolver(new Resolver(loop, options));
  resolver->channel_ = std::move(*channel);
  return resolver;
}

Resolver::~Resolver() { Shutdown(); }

void Resolver::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  // Every query's callback runs now with ARES_ECANCELLED; new lookups are refused.
  channel_->CancelAll();
  CHECK(mx_lookups_.empty());
  CHECK(address_lookups_.empty());
}

bool Resolver::idle() const {
  return mx_lookups_.empty() && address_lookups_.empty() && deferred_.pending() == 0 &&
         channel_->idle();
}

void Resolver::ResolveMx(absl::string_view domain, MxCallback done) {
  auto name = NormalizeName(domain);
  if (!name.ok()) {
    absl::Status status = absl::InvalidArgumentError(absl::StrCat(
        "DNS MX lookup of \"", domain, "\": bad name (", name.status().message(), ")"));
    deferred_.Post([done = std::move(done), status]() mutable { done(status); });
    return;
  }
  LookupMx(*name, [this, done = std::move(done)](const absl::StatusOr<MxResult>& r) mutable {
    absl::StatusOr<MxResult> copy = r;
    if (copy.ok()) ShuffleTies(&copy->hosts);
    deferred_.Post(
        [done = std::move(done), copy = std::move(copy)]() mutable { done(std::move(copy)); });
  });
}

void Resolver::ResolveAddresses(absl::string_view host, AddressCallback done) {
  auto name = NormalizeName(host);
  if (!name.ok()) {
    absl::Status status = absl::InvalidArgumentError(absl::StrCat(
        "DNS A/AAAA lookup of \"", host, "\": bad name (", name.status().message(), ")"));
    deferred_.Post([done = std::move(done), status]() mutable { done(status); });
    return;
  }
  LookupAddresses(
      *name, [this, done = std::move(done)](const absl::StatusOr<AddressResult>& r) mutable {
        deferred_.Post([done = std::move(done), copy = r]() mutable { done(std::move(copy)); });
      });
}

void Resolver::LookupMx(const std::string& name, Waiter<MxResult> waiter) {
  if (shut_down_) {
    waiter(absl::CancelledError(absl::StrCat("DNS MX lookup of ", name, ": resolver shut down")));
    return;
  }
  if (const auto* hit = mx_cache_.Get(name, loop_->now())) {
    counters_.cache_hits.fetch_add(1, std::memory_order_relaxed);
    waiter(*hit);
    return;
  }
  auto [it, inserted] = mx_lookups_.try_emplace(name);
  if (!inserted) {
    counters_.coalesced.fetch_add(1, std::memory_order_relaxed);
    it->second->waiters.push_back(std::move(waiter));
    return;
  }
  it->second = std::make_unique<MxLookup>();
  MxLookup* lookup = it->second.get();
  lookup->name = name;
  lookup->resolver = this;
  lookup->waiters.push_back(std::move(waiter));
  counters_.queries_sent.fetch_add(1, std::memory_order_relaxed);
  channel_->Query(name, ns_t_mx, &Resolver::OnMxAnswer, lookup);  // may finish inside
}

void Resolver::OnMxAnswer(void* arg, int status, int timeouts, unsigned char* abuf, int alen) {
  auto* lookup = static_cast<MxLookup*>(arg);
  Resolver* self = lookup->resolver;
  const std::string name = lookup->name;  // the lookup is freed by FinishMx
  if (status == ARES_SUCCESS) {
    auto records = ExtractMx(absl::MakeConstSpan(abuf, static_cast<size_t>(alen)), name);
    if (!records.ok()) {
      absl::Status error = absl::UnavailableError(
          absl::StrCat("DNS MX lookup of ", name, ": ", records.status().message()));
      self->CountFailure(error, false);
      self->FinishMx(name, error, absl::ZeroDuration());
      return;
    }
    if (!records->hosts.empty()) {
      MxResult result;
      const absl::Duration ttl = std::min(absl::Seconds(records->ttl_s), self->options_.ttl_max);
      result.ttl = ttl;
      // RFC 7505 §3: a "." exchanger means no mail service; mixed with real exchangers (a
      // misconfiguration, §4.3) only the real ones are used.
      for (MxHost& host : records->hosts) {
        if (host.host != ".") result.hosts.push_back(std::move(host));
      }
      result.null_mx = result.hosts.empty();
      std::stable_sort(
          result.hosts.begin(), result.hosts.end(),
          [](const MxHost& a, const MxHost& b) { return a.preference < b.preference; });
      self->FinishMx(name, std::move(result), ttl);
      return;
    }
    status = ARES_ENODATA;  // e.g. a CNAME to a name without MX
  }
  if (status == ARES_ENODATA) {
    // RFC 5321 §5.1: no MX, so the domain's own addresses are the implicit exchanger.
    self->LookupAddresses(name, [self, name](const absl::StatusOr<AddressResult>& addresses) {
      self->MxFromAddresses(name, addresses);
    });
    return;
  }
  absl::Status error = AresStatusToStatus(status, "MX", name);
  self->CountFailure(error, status == ARES_ENOTFOUND);
  self->FinishMx(name, error,
                 absl::IsNotFound(error) ? self->options_.negative_ttl : absl::ZeroDuration());
}

void Resolver::MxFromAddresses(const std::string& name,
                               const absl::StatusOr<AddressResult>& addresses) {
  if (!addresses.ok()) {
    absl::Status error = addresses.status();
    if (absl::IsNotFound(error)) {
      error = absl::NotFoundError(absl::StrCat("DNS MX lookup of ", name,
                                               ": no MX and no A/AAAA records (",
                                               addresses.status().message(), ")"));
    }
    FinishMx(name, error, absl::IsNotFound(error) ? options_.negative_ttl : absl::ZeroDuration());
    return;
  }
  MxResult result;
  result.implicit = true;
  result.hosts.push_back(MxHost{0, name});
  // The answer rests on the absence of MX records, itself a negative answer.
  result.ttl = std::min(addresses->ttl, options_.negative_ttl);
  const absl::Duration ttl = result.ttl;
  FinishMx(name, std::move(result), ttl);
}

void Resolver::FinishMx(const std::string& name, absl::StatusOr<MxResult> result,
                        absl::Duration cache_ttl) {
  auto node = mx_lookups_.extract(name);
  CHECK(!node.empty());
  if (cache_ttl > absl::ZeroDuration()) {
    mx_cache_.Put(name, result, loop_->now() + std::min(cache_ttl, options_.ttl_max));
  }
  for (auto& waiter : node.mapped()->waiters) waiter(result);
}

void Resolver::LookupAddresses(const std::string& name, Waiter<AddressResult> waiter) {
  if (shut_down_) {
    waiter(
        absl::CancelledError(absl::StrCat("DNS A/AAAA lookup of ", name, ": resolver shut down")));
    return;
  }
  if (const auto* hit = address_cache_.Get(name, loop_->now())) {
    counters_.cache_hits.fetch_add(1, std::memory_order_relaxed);
    waiter(*hit);
    return;
  }
  auto [it, inserted] = address_lookups_.try_emplace(name);
  if (!inserted) {
    counters_.coalesced.fetch_add(1, std::memory_order_relaxed);
    it->second->waiters.push_back(std::move(waiter));
    return;
  }
  it->second = std::make_unique<AddressLookup>();
  AddressLookup* lookup = it->second.get();
  lookup->name = name;
  lookup->resolver = this;
  lookup->waiters.push_back(std::move(waiter));
  lookup->outstanding = 2;
  for (AddressPart& part : lookup->parts) part.lookup = lookup;
  counters_.queries_sent.fetch_add(2, std::memory_order_relaxed);
  // Either query may complete inside Query(); the lookup is freed after the second.
  AddressPart* aaaa = &lookup->parts[1];
  channel_->Query(name, ns_t_a, &Resolver::OnAddressAnswer, &lookup->parts[0]);
  channel_->Query(name, ns_t_aaaa, &Resolver::OnAddressAnswer, aaaa);
}

void Resolver::OnAddressAnswer(void* arg, int status, int timeouts, unsigned char* abuf, int alen) {
  auto* part = static_cast<AddressPart*>(arg);
  AddressLookup* lookup = part->lookup;
  part->ares_status = status;
  if (status == ARES_SUCCESS) {
    auto records =
        ExtractAddresses(absl::MakeConstSpan(abuf, static_cast<size_t>(alen)), lookup->name);
    if (records.ok()) {
      part->records = std::move(*records);
    } else {
      part->parse_error = records.status();
    }
  }
  CHECK_GT(lookup->outstanding, 0);
  if (--lookup->outstanding == 0) lookup->resolver->CompleteAddresses(lookup);
}

void Resolver::CompleteAddresses(AddressLookup* lookup) {
  const std::string name = lookup->name;
  AddressResult result;
  uint32_t ttl_s = kTtlUnset;
  bool negative = false;  // a family is known to have no address
  bool nxdomain = false;
  const absl::Status* parse_error = nullptr;
  int failure = ARES_SUCCESS;  // a failure other than "no such name / no data"
  for (const AddressPart& part : lookup->parts) {
    if (part.ares_status == ARES_SUCCESS && part.parse_error.ok()) {
      const AddressRecords& r = part.records;
      result.ipv4.insert(result.ipv4.end(), r.ipv4.begin(), r.ipv4.end());
      result.ipv6.insert(result.ipv6.end(), r.ipv6.begin(), r.ipv6.end());
      if (r.ipv4.empty() && r.ipv6.empty()) {
        negative = true;
      } else {
        ttl_s = std::min(ttl_s, r.ttl_s);
      }
    } else if (!part.parse_error.ok()) {
      parse_error = &part.parse_error;
    } else if (Negative(part.ares_status)) {
      negative = true;
      nxdomain = nxdomain || part.ares_status == ARES_ENOTFOUND;
    } else if (failure == ARES_SUCCESS || failure == ARES_ECANCELLED) {
      failure = part.ares_status;
    }
  }
  if (!result.empty()) {
    result.ttl = std::min(absl::Seconds(ttl_s), options_.ttl_max);
    absl::Duration cache_ttl = result.ttl;
    if (negative) cache_ttl = std::min(cache_ttl, options_.negative_ttl);
    // One family failed: use what arrived, but ask again next time.
    if (failure != ARES_SUCCESS || parse_error != nullptr) cache_ttl = absl::ZeroDuration();
    FinishAddresses(name, std::move(result), cache_ttl);
    return;
  }
  absl::Status error;
  if (failure != ARES_SUCCESS) {
    error = AresStatusToStatus(failure, "A/AAAA", name);
  } else if (parse_error != nullptr) {
    error = absl::UnavailableError(
        absl::StrCat("DNS A/AAAA lookup of ", name, ": ", parse_error->message()));
  } else {
    error = AresStatusToStatus(nxdomain ? ARES_ENOTFOUND : ARES_ENODATA, "A/AAAA", name);
  }
  CountFailure(error, nxdomain && failure == ARES_SUCCESS);
  FinishAddresses(name, error,
                  absl::IsNotFound(error) ? options_.negative_ttl : absl::ZeroDuration());
}

void Resolver::FinishAddresses(const std::string& name, absl::StatusOr<AddressResult> result,
                               absl::Duration cache_ttl) {
  auto node = address_lookups_.extract(name);
  CHECK(!node.empty());
  if (cache_ttl > absl::ZeroDuration()) {
    address_cache_.Put(name, result, loop_->now() + std::min(cache_ttl, options_.ttl_max));
  }
  for (auto& waiter : node.mapped()->waiters) waiter(result);
}

void Resolver::CountFailure(const absl::Status& status, bool nxdomain) {
  if (nxdomain) counters_.nxdomain.fetch_add(1, std::memory_order_relaxed);
  if (absl::IsUnavailable(status)) counters_.unavailable.fetch_add(1, std::memory_order_relaxed);
}

void Resolver::ShuffleTies(std::vector<MxHost>* hosts) {
  // RFC 5321 §5.1: exchangers of equal preference are tried in random order.
  auto begin = hosts->begin();
  while (begin != hosts->end()) {
    auto end = std::find_if(begin, hosts->end(),
                            [&](const MxHost& h) { return h.preference != begin->preference; });
    std::shuffle(begin, end, random_);
    begin = end;
  }
}

}  // namespace tern::net::dns
