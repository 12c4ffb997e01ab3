// What SIGHUP reloads of delivery besides TLS: --route / --smarthost, --dkim_key and
// --bounce_rules, read
// again from ternd's command line and its flagfiles (edited by the operator), exactly as
// at start-up. The result is handed to every shard's delivery agent: messages scheduled
// from then on use the new routes and keys; connections and deliveries under way go on.
// A configuration that does not load leaves the current one in place (and says why).
//
//   ASSIGN_OR_RETURN(DeliveryReload reload, ReadDeliveryReload(saved_args));
//   for (auto& shard : shards) shard->ApplyDeliveryReload(reload);
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "delivery/bounce_classifier.h"
#include "delivery/dkim_signer.h"
#include "delivery/route_table.h"

namespace tern::tools::ternd {

struct DeliveryReload {
  std::shared_ptr<const delivery::RouteTable> routes;
  std::shared_ptr<const delivery::DkimSigner> dkim;  // null: no signing
  size_t dkim_keys = 0;
  std::shared_ptr<const delivery::BounceClassifier> bounce_classifier;  // never null
};

// The classifier of --bounce_rules=`path` (its rules, then the built-in ones unless it says
// use_builtin = false); "" gives the built-in rules alone. InvalidArgument names the file
// and line that is wrong.
absl::StatusOr<std::shared_ptr<const delivery::BounceClassifier>> ReadBounceClassifier(
    const std::string& path);

// `args`: the command line as given at start (argv[0] first). InvalidArgument names the
// flag (or flagfile) that is wrong.
absl::StatusOr<DeliveryReload> ReadDeliveryReload(const std::vector<std::string>& args);

}  // namespace tern::tools::ternd
