// TtlCache: a bounded map from lower-case names to answers that expire. Each entry keeps the
// answer until its deadline; at entries_max the least recently used entry is evicted. Time
// is passed in (the shard loop's clock, or a test's), so the cache never reads a clock.
//
//   TtlCache<MxResult> cache(/*entries_max=*/10000);
//   cache.Put("example.com", result, now + absl::Seconds(300));
//   if (const auto* hit = cache.Get("example.com", now)) Use(*hit);
#pragma once

#include <cstddef>
#include <list>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "core/check.h"

namespace tern::net::dns {

template <typename Value>
class TtlCache {
 public:
  explicit TtlCache(size_t entries_max) : entries_max_(entries_max) {}

  // The live entry for `key` (already lower case), or nullptr. Marks it recently used; an
  // expired entry is dropped. The pointer is valid until the next Put().
  const Value* Get(const std::string& key, absl::Time now) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    if (it->second->expires <= now) {
      order_.erase(it->second);
      index_.erase(it);
      return nullptr;
    }
    order_.splice(order_.begin(), order_, it->second);
    return &it->second->value;
  }

  // Stores `value` until `expires`, replacing an older entry, evicting the least recently
  // used at the bound. With entries_max 0 nothing is stored.
  void Put(const std::string& key, Value value, absl::Time expires) {
    if (entries_max_ == 0) return;
    auto it = index_.find(key);
    if (it != index_.end()) {
      order_.erase(it->second);
      index_.erase(it);
    }
    while (index_.size() >= entries_max_) {
      CHECK(!order_.empty());
      index_.erase(order_.back().key);
      order_.pop_back();
    }
    order_.push_front(Entry{key, std::move(value), expires});
    index_.emplace(key, order_.begin());
    CHECK_LE(index_.size(), entries_max_);
  }

  size_t size() const { return index_.size(); }

 private:
  struct Entry {
    std::string key;
    Value value;
    absl::Time expires;
  };
  const size_t entries_max_;
  std::list<Entry> order_;  // most recently used first
  absl::flat_hash_map<std::string, typename std::list<Entry>::iterator> index_;
};

}  // namespace tern::net::dns
