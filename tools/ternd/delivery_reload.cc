// Implementation of tools/ternd/delivery_reload.h.
#include "tools/ternd/delivery_reload.h"

#include "absl/strings/str_cat.h"
#include "delivery/bounce_rules.h"
#include "tools/ternd/command_line.h"

namespace tern::tools::ternd {

absl::StatusOr<DeliveryReload> ReadDeliveryReload(const std::vector<std::string>& args) {
  absl::StatusOr<std::vector<std::string>> prepared = PrepareSavedCommandLine(args);
  if (!prepared.ok()) return prepared.status();
  DeliveryReload reload;
  absl::StatusOr<delivery::RouteTable> routes = delivery::RouteTable::Create(
      ListFlagValue(*prepared, "route"), LastFlagValue(*prepared, "smarthost"));
  if (!routes.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--route/--smarthost: ", routes.status().message()));
  }
  reload.routes = std::make_shared<const delivery::RouteTable>(*std::move(routes));
  const std::vector<std::string> keys = ListFlagValue(*prepared, "dkim_key");
  reload.dkim_keys = keys.size();
  if (!keys.empty()) {
    absl::StatusOr<std::unique_ptr<const delivery::DkimSigner>> dkim =
        delivery::DkimSigner::Create(keys);
    if (!dkim.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--dkim_key: ", dkim.status().message()));
    }
    reload.dkim = *std::move(dkim);
  }
  absl::StatusOr<std::shared_ptr<const delivery::BounceClassifier>> classifier =
      ReadBounceClassifier(LastFlagValue(*prepared, "bounce_rules"));
  if (!classifier.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--bounce_rules: ", classifier.status().message()));
  }
  reload.bounce_classifier = *std::move(classifier);
  return reload;
}

absl::StatusOr<std::shared_ptr<const delivery::BounceClassifier>> ReadBounceClassifier(
    const std::string& path) {
  if (path.empty()) return delivery::BounceClassifier::Builtin();
  absl::StatusOr<delivery::BounceRuleSet> rules = delivery::ReadBounceRulesFile(path);
  if (!rules.ok()) return rules.status();
  return delivery::BounceClassifier::Create(&*rules);
}

}  // namespace tern::tools::ternd
