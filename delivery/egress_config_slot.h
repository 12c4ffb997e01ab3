// EgressConfigSlot: the egress configuration in force, replaceable while ternd runs (SIGHUP
// reads the egress flags again); the admin endpoint and the shaping reload read it
// (core/shared_slot.h).
#pragma once

#include "core/shared_slot.h"
#include "delivery/egress_config.h"

namespace tern::delivery {

using EgressConfigSlot = core::SharedSlot<EgressConfig>;

}  // namespace tern::delivery
