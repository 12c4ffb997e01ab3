// Little-endian loads and stores for the spool: the one definition is core/little_endian.h
// (shared with the suppression journal); spool code keeps calling them unqualified.
#pragma once

#include "core/little_endian.h"

namespace tern::spool {
using ::tern::core::LoadLE16;
using ::tern::core::LoadLE32;
using ::tern::core::LoadLE64;
using ::tern::core::StoreLE16;
using ::tern::core::StoreLE32;
using ::tern::core::StoreLE64;
using ::tern::core::ToLittleEndian;
}  // namespace tern::spool
