#include "webhook/observe/decision_ring.h"

#include <algorithm>
#include <utility>

namespace imagegate::webhook {

namespace {

using Minutes = std::chrono::minutes;

std::chrono::system_clock::time_point minute_of(std::chrono::system_clock::time_point t) {
  return std::chrono::floor<Minutes>(t);
}

// The slot of a minute: its number since the epoch, modulo `n` (the minutes before 1970 never occur).
std::size_t minute_slot(std::chrono::system_clock::time_point minute, std::size_t n) {
  const auto number = std::chrono::duration_cast<Minutes>(minute.time_since_epoch()).count();
  return static_cast<std::size_t>(number < 0 ? 0 : number) % n;
}

bool matches(const RecentDecision& d, const RecentFilter& f) {
  if (!f.decision.empty() && d.decision != f.decision) return false;
  if (!f.namespace_name.empty() && d.namespace_name != f.namespace_name) return false;
  if (!f.rule.empty() && std::find(d.rules.begin(), d.rules.end(), f.rule) == d.rules.end()) return false;
  return true;
}

}  // namespace

std::optional<std::size_t> ring_decision_index(std::string_view decision) {
  for (std::size_t i = 0; i < kRingDecisions.size(); ++i) {
    if (kRingDecisions[i] == decision) return i;
  }
  return std::nullopt;
}

DecisionRing::DecisionRing(std::size_t capacity) : slots_(std::max<std::size_t>(capacity, 1)) {}

void DecisionRing::record(RecentDecision decision) {
  const std::optional<std::size_t> index = ring_decision_index(decision.decision);
  const auto minute = minute_of(decision.time);
  {
    std::lock_guard lock(mutex_);
    decision.id = next_id_++;
    if (index) {
      MinuteCounts& m = minutes_[minute_slot(minute, kMinutes)];
      if (m.minute != minute) m = MinuteCounts{minute, {}};
      ++m.counts[*index];
      ++totals_[*index];
    }
    // The record it replaces leaves in `decision`, and is freed after the lock is released.
    std::swap(slots_[decision.id % slots_.size()], decision);
  }
}

std::vector<RecentDecision> DecisionRing::list(const RecentFilter& filter) const {
  std::vector<RecentDecision> out;
  if (filter.limit == 0) return out;
  std::lock_guard lock(mutex_);
  const std::uint64_t newest = next_id_ - 1;
  const std::uint64_t kept = std::min<std::uint64_t>(newest, slots_.size());
  std::uint64_t id = filter.before != 0 && filter.before <= newest ? filter.before - 1 : newest;
  for (; id > newest - kept && out.size() < filter.limit; --id) {
    const RecentDecision& d = slots_[id % slots_.size()];
    if (d.id == id && matches(d, filter)) out.push_back(d);
  }
  return out;
}

std::optional<RecentDecision> DecisionRing::find(std::uint64_t id) const {
  std::lock_guard lock(mutex_);
  const RecentDecision& d = slots_[id % slots_.size()];
  if (id == 0 || d.id != id) return std::nullopt;
  return d;
}

std::vector<MinuteCounts> DecisionRing::last_hour(std::chrono::system_clock::time_point now) const {
  const auto newest = minute_of(now);
  std::vector<MinuteCounts> out;
  out.reserve(kMinutes);
  std::lock_guard lock(mutex_);
  for (std::size_t back = kMinutes; back-- > 0;) {
    const auto minute = newest - Minutes(back);
    const MinuteCounts& m = minutes_[minute_slot(minute, kMinutes)];
    out.push_back(m.minute == minute ? m : MinuteCounts{minute, {}});
  }
  return out;
}

std::array<std::uint64_t, 4> DecisionRing::totals() const {
  std::lock_guard lock(mutex_);
  return totals_;
}

std::size_t DecisionRing::size() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(std::min<std::uint64_t>(next_id_ - 1, slots_.size()));
}

}  // namespace imagegate::webhook
