// SiteRollup: MX rollup for connections. The lanes of one shard whose domains share a site
// (the same MX hosts, egress source, port and TLS policy) lend each other their connections,
// so a site's connection limit serves the mail of all its domains as one ready queue: a
// connection free in one domain's lane goes to a sibling lane whose jobs wait for a
// connection (longest waiting first, round robin while several wait), and a lane that finds
// the site's connection limit full borrows a sibling's idle connection. Without it, a
// thousand Google Workspace domains with a message each would queue behind a connection
// limit of 20 whose connections sit idle in other domains' lanes.
//
//   rollup.Place(lane, RollupGroup(*lane));       // its site is known (or changed)
//   rollup.NoteWaiting(lane);                      // the connection limit is full
//   if (Lane* s = rollup.WaitingSibling(lane)) ... // a connection of `lane` is free: to s
//   if (Lane* s = rollup.SiblingWithIdle(lane)) ...// s->TakeReady() may be moved to lane
//   rollup.Leave(lane);                            // before the lane is dropped
//
// Lanes are not owned; a lane must Leave() before it is destroyed. Single-threaded (the
// shard's loop).
#pragma once

#include <string>
#include <vector>

#include "absl/container/node_hash_map.h"
#include "absl/strings/string_view.h"
#include "delivery/lane.h"

namespace tern::delivery {

// The group of a lane whose site is a shared MX set ("" for a lane that shares nothing: a
// route, or a domain with its own site or without MX hosts).
std::string RollupGroup(const Lane& lane);

class SiteRollup {
 public:
  // `lane` belongs to `group` from now on ("": to none), leaving the group it was in;
  // lane->rollup_group points to the group's key (null for none).
  void Place(Lane* lane, absl::string_view group);
  void Leave(Lane* lane) { Place(lane, ""); }
  // `lane` has an idle connection (on lane->ready) a sibling may borrow.
  void NoteIdle(Lane* lane);
  // `lane` has jobs waiting for a connection the site's connection limit does not allow.
  void NoteWaiting(Lane* lane);
  // The sibling of `lane` that has waited longest for a connection and still has jobs
  // (taken off the waiting list), or null.
  Lane* WaitingSibling(Lane* lane);
  // Whether WaitingSibling(lane) would find one (nothing changes).
  bool HasWaitingSibling(Lane* lane);
  // A sibling of `lane` with an idle connection (lane->ready not empty), or null.
  Lane* SiblingWithIdle(Lane* lane);

  size_t groups() const { return groups_.size(); }
  size_t lanes_in(const Lane& lane) const;  // in the lane's group (0: none)

 private:
  // Vectors, not deques: a group costs nothing for what it does not hold (a std::deque
  // holds 576 bytes from its construction), and most sites have one domain.
  struct Group {
    std::vector<Lane*> members;
    std::vector<Lane*> waiting;     // oldest first, each at most once (Lane::rollup_waiting)
    std::vector<Lane*> maybe_idle;  // may have idle connections (checked on use), each once
  };
  Group* GroupOf(const Lane& lane);  // null: in none
  // Keys stay where they are: lanes point to theirs (Lane::rollup_group).
  absl::node_hash_map<std::string, Group> groups_;
};

}  // namespace tern::delivery
