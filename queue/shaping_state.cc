// Implementation of queue/shaping_state.h.
#include "queue/shaping_state.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace tern::queue {

std::string SiteScope(absl::string_view site_key) { return absl::StrCat("site:", site_key); }
std::string DomainScope(absl::string_view domain) { return absl::StrCat("domain:", domain); }
std::string RouteScope(absl::string_view host, uint16_t port) {
  return absl::StrCat("route:", host, ":", port);
}
std::string ProviderScope(absl::string_view provider) {
  return absl::StrCat("provider:", provider);
}
std::string SourceScope(absl::string_view source) { return absl::StrCat("source:", source); }
bool IsSharedByManySites(absl::string_view scope_key) {
  return absl::StartsWith(scope_key, "source:") || absl::StartsWith(scope_key, "provider:");
}
std::string ForSource(absl::string_view scope, absl::string_view source) {
  return absl::StrCat(scope, "@", source);
}

ShapingState::ShapingState(std::shared_ptr<const ShapingPolicy> policy, std::string state_file,
                           const ShapingOptions& base)
    : base_(base), policy_(WithBase(std::move(policy))), state_file_(std::move(state_file)) {}

std::shared_ptr<const ShapingPolicy> ShapingState::WithBase(
    std::shared_ptr<const ShapingPolicy> policy) const {
  auto copy = policy != nullptr ? std::make_shared<ShapingPolicy>(*policy)
                                : std::make_shared<ShapingPolicy>();
  copy->set_base(base_);
  return copy;
}

std::shared_ptr<const ShapingPolicy> ShapingState::policy() const {
  absl::MutexLock lock(&mutex_);
  return policy_;
}

void ShapingState::SetPolicy(std::shared_ptr<const ShapingPolicy> policy) {
  {
    absl::MutexLock lock(&mutex_);
    policy_ = WithBase(std::move(policy));
  }
  policy_version_.fetch_add(1, std::memory_order_acq_rel);
}

absl::Status ShapingState::Load(absl::Time now) {
  if (state_file_.empty()) return absl::OkStatus();
  absl::Status loaded = overrides_.LoadFrom(state_file_, now);
  absl::MutexLock lock(&save_mutex_);
  saved_version_ = overrides_.version();
  return loaded;
}

absl::Status ShapingState::SaveIfChanged(absl::Time now, bool force) {
  if (state_file_.empty()) return absl::OkStatus();
  overrides_.Expire(now);
  absl::MutexLock lock(&save_mutex_);
  const uint64_t version = overrides_.version();
  if (!force && version == saved_version_) return absl::OkStatus();
  absl::Status saved = overrides_.SaveTo(state_file_, now);
  if (saved.ok()) saved_version_ = version;
  return saved;
}

}  // namespace tern::queue
