// EgressConfig: the egress sources ("dedicated IPs") a relay may send from and the pools that
// group them, parsed from ternd's flags:
//
//   --egress_source=ip1=192.0.2.7@mta1.example.com   NAME=IP[@EHLO_NAME], repeatable;
//   --egress_source=ip2=[2001:db8::7]                IPv4 or IPv6 ([v6] accepted)
//   --egress_pool=bulk=ip1:3,ip2                     POOL=NAME[:WEIGHT][,NAME[:WEIGHT]...]
//   --default_pool=bulk                              pool of a message nothing else names
//   --sender_pool=news.example.com=bulk              by the envelope sender's domain
//   --pool_header=X-Tern-Pool                        header naming a message's pool
//
// The flags arrive as abseil list values (repeats and commas both split items), so a pool's
// members may be spread over several items: an item with '=' starts a pool, an item without
// one adds a member to the pool before it.
//
//   EgressFlags flags{.sources = ..., .pools = ...};
//   ASSIGN_OR_RETURN(std::shared_ptr<const EgressConfig> egress, EgressConfig::Parse(flags));
//   const EgressPool* pool = egress->FindPool("bulk");
//
// Errors are InvalidArgument naming the flag and the value. A pool whose weights are all 0
// (fully drained) is accepted with a warning (warnings()).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tern::delivery {

inline constexpr size_t kEgressNameBytesMax = 64;  // source and pool names
inline constexpr uint32_t kEgressWeightMax = 1000;
inline constexpr uint32_t kEgressWeightDefault = 1;
inline constexpr size_t kEgressSourcesMax = 4096;
inline constexpr size_t kEgressPoolsMax = 4096;
inline constexpr absl::string_view kDefaultPoolHeader = "X-Tern-Pool";

// The flag values, as abseil hands them over.
struct EgressFlags {
  std::vector<std::string> sources;                           // --egress_source
  std::vector<std::string> pools;                             // --egress_pool
  std::string default_pool;                                   // --default_pool
  std::vector<std::string> sender_pools;                      // --sender_pool
  std::string pool_header = std::string(kDefaultPoolHeader);  // --pool_header
};

struct EgressSource {
  std::string name;
  sockaddr_storage address{};  // port 0
  socklen_t address_length = 0;
  std::string ehlo_name;  // empty: the global --hostname
  bool ipv6() const { return address.ss_family == AF_INET6; }
};

struct EgressPoolMember {
  uint32_t source_index = 0;               // into EgressConfig::sources
  uint32_t weight = kEgressWeightDefault;  // 0: drained, never picked
};

struct EgressPool {
  std::string name;
  std::vector<EgressPoolMember> members;  // each source at most once
};

class EgressConfig {
 public:
  static absl::StatusOr<std::shared_ptr<const EgressConfig>> Parse(const EgressFlags& flags);

  const std::vector<EgressSource>& sources() const { return sources_; }
  const std::vector<EgressPool>& pools() const { return pools_; }
  // Null when unknown. Names are case-sensitive.
  const EgressSource* FindSource(absl::string_view name) const;
  const EgressPool* FindPool(absl::string_view name) const;
  // --default_pool; null: none (the kernel picks the source address).
  const EgressPool* default_pool() const {
    return default_pool_index_ < 0 ? nullptr : &pools_[static_cast<size_t>(default_pool_index_)];
  }
  // --sender_pool for a sender domain (matched exactly, case-insensitively); null: none.
  const EgressPool* SenderPool(absl::string_view sender_domain) const;
  // --pool_header; empty: no header is looked at.
  const std::string& pool_header() const { return pool_header_; }
  // True when no pool is configured: messages get no pool and nothing is looked for.
  bool no_pools() const { return pools_.empty(); }
  // Things allowed but probably unintended (a pool with every weight 0).
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  absl::Status ParseSource(absl::string_view item);
  absl::Status ParsePools(const std::vector<std::string>& items);
  // One member, "NAME[:WEIGHT]", or "POOL=NAME[:WEIGHT]" starting a pool; `item` for errors.
  absl::Status ParsePoolPart(absl::string_view item, absl::string_view part);
  absl::Status ParseSenderPool(absl::string_view item);

  std::vector<EgressSource> sources_;
  std::vector<EgressPool> pools_;
  absl::flat_hash_map<std::string, size_t> source_index_;
  absl::flat_hash_map<std::string, size_t> pool_index_;
  absl::flat_hash_map<std::string, size_t> sender_pool_;  // lower-cased domain -> pool index
  int default_pool_index_ = -1;
  std::string pool_header_;
  std::vector<std::string> warnings_;
};

// Whether `name` may name a source or pool: 1..64 of [A-Za-z0-9_.-].
bool IsValidEgressName(absl::string_view name);

}  // namespace tern::delivery
