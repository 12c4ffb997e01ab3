// Implementation of delivery/source_selector.h.
#include "delivery/source_selector.h"

#include "core/check.h"

namespace tern::delivery {

SourceSelector::SourceSelector(std::shared_ptr<const EgressConfig> config, size_t states_max)
    : config_(std::move(config)), states_max_(states_max) {
  CHECK(config_ != nullptr);
  CHECK_GT(states_max_, 0u);
}

SourceSelector::State* SourceSelector::FindOrCreate(const EgressPool& pool,
                                                    absl::string_view site_key) {
  key_scratch_.assign(pool.name);
  key_scratch_.push_back('\0');
  key_scratch_.append(site_key.data(), site_key.size());
  auto it = states_.find(absl::string_view(key_scratch_));
  if (it != states_.end()) {
    lru_.splice(lru_.end(), lru_, it->second);  // iterators and keys stay valid
    State* state = &*it->second;
    // A pool redefined since (another member count) starts afresh.
    if (state->scores.size() != pool.members.size()) state->scores.assign(pool.members.size(), 0);
    return state;
  }
  if (states_.size() >= states_max_) {
    states_.erase(absl::string_view(lru_.front().key));
    lru_.pop_front();
  }
  lru_.push_back(State{key_scratch_, std::vector<int64_t>(pool.members.size(), 0)});
  auto last = std::prev(lru_.end());
  states_.emplace(absl::string_view(last->key), last);
  CHECK_LE(states_.size(), states_max_);
  CHECK_EQ(states_.size(), lru_.size());
  return &*last;
}

const EgressSource* SourceSelector::Pick(const EgressPool& pool, absl::string_view site_key,
                                         const std::function<bool(const EgressSource&)>& usable) {
  const std::vector<EgressSource>& sources = config_->sources();
  State* state = FindOrCreate(pool, site_key);
  int64_t total = 0;
  int best = -1;
  for (size_t i = 0; i < pool.members.size(); ++i) {
    const EgressPoolMember& member = pool.members[i];
    CHECK_LT(member.source_index, sources.size());
    if (member.weight == 0 || !usable(sources[member.source_index])) continue;
    state->scores[i] += member.weight;
    total += member.weight;
    if (best < 0 || state->scores[i] > state->scores[static_cast<size_t>(best)]) {
      best = static_cast<int>(i);
    }
  }
  if (best < 0) return nullptr;
  state->scores[static_cast<size_t>(best)] -= total;
  return &sources[pool.members[static_cast<size_t>(best)].source_index];
}

}  // namespace tern::delivery
