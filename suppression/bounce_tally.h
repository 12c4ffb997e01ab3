// BounceTally: hard bounces counted per address until an address reaches --suppress_after
// (then it goes on the suppression list and its count is forgotten). Shared by every shard;
// a mutex, taken only for a hard bounce (rare, and never on the RCPT path). Counts live in
// memory since start: a restart forgets them (the list itself is durable). At most
// kAddressesMax addresses are counted; when that many are, the counts start over (logged),
// so that hostile traffic cannot grow it without bound.
//
//   BounceTally tally;
//   if (tally.CountReaches("a@example.com", 3)) AddToList(...);   // the third hard bounce
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace tern::suppression {

class BounceTally {
 public:
  static constexpr size_t kAddressesMax = size_t{1} << 20;

  // Counts one hard bounce of `address` (normalised); true when that makes `threshold`
  // (>= 1), and then the address's count starts over.
  bool CountReaches(absl::string_view address, uint32_t threshold);
  size_t tracked() const;

 private:
  mutable absl::Mutex mutex_;
  absl::flat_hash_map<std::string, uint32_t> counts_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace tern::suppression
