// kShardsMax: shards are numbered from 0 to below this. Structures that every shard shares
// (connection shares, wakeups, site health) keep a seat per shard number and refuse larger
// ones (CHECK), so their size stays bounded.
#pragma once

#include <cstdint>

namespace tern::core {

inline constexpr uint32_t kShardsMax = 4096;

}  // namespace tern::core
