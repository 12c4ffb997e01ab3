// What `ternctl shaping` shows (GET /shaping on the admin endpoint): the policy in force,
// the live suspensions and overrides, the troubled sites, the throttle scopes in use and,
// for one destination, what the policy resolves for it. CollectShapingReport reads a
// ShapingState (thread-safe, on the admin thread); ShapingText and ShapingJson render it.
//
//   ShapingReport report = CollectShapingReport(*state, "/etc/tern/shaping.toml",
//                                               {.domain = "example.com"}, absl::Now());
//   std::string text = ShapingText(report, now);
//
// Every list is bounded (kShapingRowsMax rows; the rest counted as omitted).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "delivery/egress_config.h"
#include "delivery/egress_config_slot.h"
#include "queue/shaping_override.h"
#include "queue/shaping_policy.h"
#include "queue/shaping_state.h"
#include "queue/site_health.h"

namespace tern::tools::ternd {

inline constexpr size_t kShapingRowsMax = 1000;

// The admin endpoint's access to the shaping (null state: none).
struct ShapingAccess {
  queue::ShapingState* state = nullptr;
  std::string policy_file;  // --shaping; "" for the built-in defaults
  // The egress sources in force (a suspension must name one of them; null: not checked).
  // SIGHUP may replace the configuration in it.
  const delivery::EgressConfigSlot* egress = nullptr;
};

// One throttle scope in use: its cells read with the limits the policy gives its key.
struct ThrottleRow {
  std::string key;
  std::optional<queue::RateSpec> message_rate;  // unset: no limit
  uint64_t message_tokens = 0;                  // takes available now (with a rate)
  absl::Duration message_wait;                  // until the next take (with a rate)
  std::optional<queue::RateSpec> connection_rate;
  uint64_t connection_tokens = 0;
  absl::Duration connection_wait;
  uint32_t open_connections = 0;
  std::optional<uint32_t> connection_limit;
};

// --destination=D: the policy's answer for the domain alone (no MX lookup).
struct DestinationShaping {
  std::string domain;
  std::string source;
  queue::ShapingOptions lane;
  std::vector<queue::ThrottleScope> shared;
  std::string provider;
  bool own_site = false;
  std::vector<std::string> rules;                 // "ORIGIN: regex ... -> action ..."
  std::vector<queue::ShapingOverride> overrides;  // on "domain:D" (and its provider)
};

struct ShapingReport {
  std::string policy_file;  // "" for the built-in defaults
  size_t policy_blocks = 0;
  std::vector<queue::ShapingOverride> overrides;
  size_t overrides_omitted = 0;
  std::vector<queue::SiteHealth::Snapshot> troubled_sites;
  size_t troubled_sites_omitted = 0;
  std::vector<ThrottleRow> throttles;
  size_t throttles_omitted = 0;
  std::optional<DestinationShaping> destination;
};

struct DestinationQuery {
  std::string domain;  // "" for none
  std::string source;
};

ShapingReport CollectShapingReport(queue::ShapingState& state, const std::string& policy_file,
                                   const DestinationQuery& query, absl::Time now);

std::string ShapingText(const ShapingReport& report, absl::Time now);
std::string ShapingJson(const ShapingReport& report, absl::Time now);

// The option rows of a lane ("connection_limit", "20"), every set field, in a fixed order.
std::vector<std::pair<std::string, std::string>> OptionRows(const queue::ShapingOptions& options);

}  // namespace tern::tools::ternd
