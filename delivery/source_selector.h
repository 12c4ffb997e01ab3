// SourceSelector: which egress source of a pool one delivery attempt sends from. Smooth
// weighted round robin (nginx's upstream algorithm): every pick adds each usable source's
// weight to its running score, takes the highest and subtracts the round's total from it,
// so weights 1:2:7 give a deterministic, evenly spread sequence (no bursts of one source).
// Each (pool, site) pair keeps its own scores, so every site sees the same even interleave.
//
//   SourceSelector selector(egress);  // one per shard: not thread-safe
//   const EgressSource* source = selector.Pick(*pool, site_key, [&](const EgressSource& s) {
//     return s.ipv6() ? site_has_ipv6 : site_has_ipv4;
//   });
//   if (source == nullptr) ...  // no usable source with a weight above 0: defer
//
// Weight 0 drains a source: it is never picked. Sources `usable` refuses sit the round out
// (their score does not grow). Memory is bounded: at most `states_max` (pool, site) states,
// the least recently picked evicted first (an evicted pair starts its interleave afresh).
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "delivery/egress_config.h"

namespace tern::delivery {

class SourceSelector {
 public:
  static constexpr size_t kStatesMaxDefault = 100'000;

  explicit SourceSelector(std::shared_ptr<const EgressConfig> config,
                          size_t states_max = kStatesMaxDefault);

  // The source for the next attempt from `pool` (one of config's) to `site_key`; null when
  // no source of the pool has a weight above 0 and passes `usable`.
  const EgressSource* Pick(const EgressPool& pool, absl::string_view site_key,
                           const std::function<bool(const EgressSource&)>& usable);

  size_t state_count() const { return states_.size(); }

 private:
  struct State {
    std::string key;              // pool name, '\0', site key
    std::vector<int64_t> scores;  // one per pool member
  };
  State* FindOrCreate(const EgressPool& pool, absl::string_view site_key);

  std::shared_ptr<const EgressConfig> config_;
  size_t states_max_;
  std::list<State> lru_;  // most recently picked last
  absl::flat_hash_map<absl::string_view, std::list<State>::iterator> states_;  // keys: lru_'s
  std::string key_scratch_;
};

}  // namespace tern::delivery
