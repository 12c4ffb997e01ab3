// MessagePoolResolver: the egress pool of a message, decided once at reception (the
// delivery attempts later pick a source of it, delivery/source_selector.h). In order:
//   1. the pool header (--pool_header, "X-Tern-Pool" by default): read and removed from the
//      stored message, so the stored bytes are the bytes sent on;
//   2. --sender_pool for the envelope sender's domain;
//   3. the pool of the authenticated user (the AUTH users file's "pool=NAME");
//   4. --default_pool;
// and otherwise none (the kernel picks the source address, as without pools).
// A header or user naming a pool that is not configured is an error the client hears about:
// the message is refused (554 5.3.0 at the end of its data).
//
//   MessagePoolResolver resolver(egress);          // egress may be null: inactive
//   if (resolver.active()) {                       // once the header section is in `record`
//     ASSIGN_OR_RETURN(absl::string_view pool,
//                      resolver.Resolve(&record, body_begin, &header_end, sender, auth_pool));
//   }
//
// Without any --egress_pool the resolver is inactive: nothing is looked for or removed.
#pragma once

#include <cstddef>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/byte_buffer.h"
#include "delivery/egress_config.h"

namespace tern::delivery {

class MessagePoolResolver {
 public:
  explicit MessagePoolResolver(std::shared_ptr<const EgressConfig> config)
      : config_(std::move(config)) {}

  bool active() const { return config_ != nullptr && !config_->no_pools(); }

  // The pool of the message whose header section is record[begin, *end) (see above); the
  // pool header's fields are removed and *end moved back accordingly. Empty: no pool. The
  // name is the configuration's (valid as long as it). InvalidArgument with the reason
  // ('unknown egress pool "X"') when the header or `auth_pool` names no configured pool.
  absl::StatusOr<absl::string_view> Resolve(core::ByteBuffer* record, size_t begin, size_t* end,
                                            absl::string_view sender,
                                            absl::string_view auth_pool) const;

 private:
  std::shared_ptr<const EgressConfig> config_;
};

}  // namespace tern::delivery
