// Implementation of delivery/site_rollup.h.
#include "delivery/site_rollup.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/check.h"

namespace tern::delivery {

std::string RollupGroup(const Lane& lane) {
  if (!lane.nexthop.mx_lookup || !absl::StartsWith(lane.site_scope, "site:")) return "";
  // Connections are interchangeable only with the same source (name, address and EHLO
  // name: a lane retired by an egress reload keeps its old ones), port and TLS policy (a
  // domain with a TLS policy of its own shares only with its equals).
  std::string source = lane.source;
  if (lane.egress != nullptr) {
    absl::StrAppend(
        &source, "=",
        absl::BytesToHexString(absl::string_view(
            reinterpret_cast<const char*>(&lane.egress->address), lane.egress->address_length)),
        "@", lane.egress->ehlo_name);
  }
  return absl::StrCat(lane.site_scope, "@", source, "|", lane.nexthop.port, "|",
                      static_cast<int>(lane.tls));
}

void SiteRollup::Place(Lane* lane, absl::string_view group) {
  // Both arms string_view: `*rollup_group : ""` would make a temporary std::string copy that
  // dies at the end of this statement (a view of freed memory after it).
  const absl::string_view now =
      lane->rollup_group != nullptr ? absl::string_view(*lane->rollup_group) : absl::string_view();
  if (now == group) return;
  if (lane->rollup_group != nullptr) {
    auto it = groups_.find(*lane->rollup_group);
    CHECK(it != groups_.end() && &it->first == lane->rollup_group);
    Group& old = it->second;
    old.members.erase(std::find(old.members.begin(), old.members.end(), lane));
    if (lane->rollup_idle) {
      old.maybe_idle.erase(std::find(old.maybe_idle.begin(), old.maybe_idle.end(), lane));
      lane->rollup_idle = false;
    }
    if (lane->rollup_waiting) {
      old.waiting.erase(std::find(old.waiting.begin(), old.waiting.end(), lane));
      lane->rollup_waiting = false;
    }
    lane->rollup_group = nullptr;
    if (old.members.empty()) groups_.erase(it);
  }
  if (group.empty()) return;
  auto [it, fresh] = groups_.try_emplace(group);
  it->second.members.push_back(lane);
  lane->rollup_group = &it->first;
}

SiteRollup::Group* SiteRollup::GroupOf(const Lane& lane) {
  if (lane.rollup_group == nullptr) return nullptr;
  auto it = groups_.find(*lane.rollup_group);
  CHECK(it != groups_.end());
  return &it->second;
}

void SiteRollup::NoteIdle(Lane* lane) {
  Group* group = GroupOf(*lane);
  if (group == nullptr || lane->rollup_idle) return;
  group->maybe_idle.push_back(lane);
  lane->rollup_idle = true;
}

void SiteRollup::NoteWaiting(Lane* lane) {
  Group* group = GroupOf(*lane);
  if (group == nullptr || lane->rollup_waiting) return;
  group->waiting.push_back(lane);
  lane->rollup_waiting = true;
}

Lane* SiteRollup::WaitingSibling(Lane* lane) {
  Group* group = GroupOf(*lane);
  if (group == nullptr) return nullptr;
  std::vector<Lane*>& waiting = group->waiting;
  // The oldest sibling that still has jobs; the lanes passed over on the way (no jobs left)
  // stop waiting; `lane` itself keeps its place.
  Lane* found = nullptr;
  size_t kept = 0;
  size_t i = 0;
  for (; i < waiting.size() && found == nullptr; ++i) {
    Lane* candidate = waiting[i];
    if (candidate == lane) {
      waiting[kept++] = candidate;
      continue;
    }
    candidate->rollup_waiting = false;
    if (!candidate->pending.empty()) found = candidate;
  }
  waiting.erase(waiting.begin() + static_cast<ptrdiff_t>(kept),
                waiting.begin() + static_cast<ptrdiff_t>(i));
  return found;
}

bool SiteRollup::HasWaitingSibling(Lane* lane) {
  const Group* group = GroupOf(*lane);
  if (group == nullptr) return false;
  for (const Lane* candidate : group->waiting) {
    if (candidate != lane && !candidate->pending.empty()) return true;
  }
  return false;
}

Lane* SiteRollup::SiblingWithIdle(Lane* lane) {
  Group* group = GroupOf(*lane);
  if (group == nullptr) return nullptr;
  std::vector<Lane*>& maybe_idle = group->maybe_idle;
  // Lanes found without idle connections leave the list (their place taken by its last).
  for (size_t i = 0; i < maybe_idle.size();) {
    Lane* candidate = maybe_idle[i];
    if (candidate->ready.empty()) {
      candidate->rollup_idle = false;
      maybe_idle[i] = maybe_idle.back();
      maybe_idle.pop_back();
      continue;
    }
    if (candidate != lane) return candidate;
    ++i;
  }
  return nullptr;
}

size_t SiteRollup::lanes_in(const Lane& lane) const {
  if (lane.rollup_group == nullptr) return 0;
  auto it = groups_.find(*lane.rollup_group);
  return it == groups_.end() ? 0 : it->second.members.size();
}

}  // namespace tern::delivery
