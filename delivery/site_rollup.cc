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
  if (lane->rollup_group == group) return;
  if (!lane->rollup_group.empty()) {
    auto it = groups_.find(lane->rollup_group);
    CHECK(it != groups_.end());
    Group& old = it->second;
    old.members.erase(lane);
    old.maybe_idle.erase(lane);
    if (lane->rollup_waiting) {
      old.waiting.erase(std::find(old.waiting.begin(), old.waiting.end(), lane));
      lane->rollup_waiting = false;
    }
    if (old.members.empty()) groups_.erase(it);
  }
  lane->rollup_group = std::string(group);
  if (!group.empty()) groups_[group].members.insert(lane);
}

void SiteRollup::NoteIdle(Lane* lane) {
  if (lane->rollup_group.empty()) return;
  groups_[lane->rollup_group].maybe_idle.insert(lane);
}

void SiteRollup::NoteWaiting(Lane* lane) {
  if (lane->rollup_group.empty() || lane->rollup_waiting) return;
  Group& group = groups_[lane->rollup_group];
  DCHECK(group.members.contains(lane));
  group.waiting.push_back(lane);
  lane->rollup_waiting = true;
}

Lane* SiteRollup::WaitingSibling(Lane* lane) {
  if (lane->rollup_group.empty()) return nullptr;
  auto it = groups_.find(lane->rollup_group);
  CHECK(it != groups_.end());
  std::deque<Lane*>& waiting = it->second.waiting;
  // Lanes that stopped waiting (served, or their jobs left) are dropped on the way; `lane`
  // itself stays where it is.
  for (size_t looked = 0, n = waiting.size(); looked < n && !waiting.empty(); ++looked) {
    Lane* candidate = waiting.front();
    waiting.pop_front();
    if (candidate == lane) {
      waiting.push_back(candidate);
      continue;
    }
    candidate->rollup_waiting = false;
    if (!candidate->pending.empty()) return candidate;
  }
  return nullptr;
}

Lane* SiteRollup::SiblingWithIdle(Lane* lane) {
  if (lane->rollup_group.empty()) return nullptr;
  auto it = groups_.find(lane->rollup_group);
  CHECK(it != groups_.end());
  absl::flat_hash_set<Lane*>& maybe_idle = it->second.maybe_idle;
  for (auto c = maybe_idle.begin(); c != maybe_idle.end();) {
    Lane* candidate = *c;
    if (candidate->ready.empty()) {
      maybe_idle.erase(c++);
      continue;
    }
    if (candidate != lane) return candidate;
    ++c;
  }
  return nullptr;
}

size_t SiteRollup::lanes_in(absl::string_view group) const {
  auto it = groups_.find(group);
  return it == groups_.end() ? 0 : it->second.members.size();
}

}  // namespace tern::delivery
