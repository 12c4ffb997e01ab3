// ErrnoStatus for the spool: the one definition is core/errno_status.h (shared with the
// suppression journal); spool code keeps calling it unqualified.
#pragma once

#include "core/errno_status.h"

namespace tern::spool {
using ::tern::core::ErrnoStatus;
}  // namespace tern::spool
