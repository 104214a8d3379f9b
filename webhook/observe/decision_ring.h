// DecisionRing: the last N reviews of this process, in memory, for the console's "Recent decisions"
// (webhook/console/, docs/api.md /api/v1/decisions), and the process's count of reviews by decision, per
// minute over the last hour and since it started (the console's summary chart).
//
// Fed where the decision log line is written (webhook/admission/policy_admission_service.cc): a record
// holds that very line (the JSON the log ships: every container, digest, evidence, reason), so nothing is
// serialised twice; the few fields the filters read (decision, namespace, rules) are copied beside it.
// record() costs the copies and one short critical section; the oldest record is freed outside it.
// Each replica keeps its own: in a multi-replica install each shows the reviews it answered.
//
// Thread-safe: record() from any io thread, the readers from any thread.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imagegate::webhook {

inline constexpr std::size_t kDefaultRecentDecisions = 1000;
inline constexpr std::size_t kMaxRecentDecisions = 100'000;

// The decisions the ring counts, in this order ("allowed", "warned", "denied", "error").
inline constexpr std::array<std::string_view, 4> kRingDecisions{"allowed", "warned", "denied", "error"};

struct RecentDecision {
  std::uint64_t id = 0;  // 1, 2, ... in the order recorded (set by record())
  std::chrono::system_clock::time_point time{};
  std::string decision;        // one of kRingDecisions
  std::string namespace_name;  // the review's namespace ("" for cluster-scoped objects)
  std::vector<std::string> rules;  // the distinct rules that decided its images (none: no rule matched)
  std::string line;            // the decision log line: a JSON object
};

// What list() selects; empty strings match everything.
struct RecentFilter {
  std::string decision;
  std::string namespace_name;
  std::string rule;
  std::uint64_t before = 0;  // only ids below this (0: from the newest): the next page of a listing
  std::size_t limit = 50;
};

// Reviews per decision (kRingDecisions' order) in one minute.
struct MinuteCounts {
  std::chrono::system_clock::time_point minute{};  // the minute's start
  std::array<std::uint64_t, 4> counts{};
};

class DecisionRing {
 public:
  // `capacity` records are kept (at least 1).
  explicit DecisionRing(std::size_t capacity = kDefaultRecentDecisions);

  // Keeps `decision` (its id is assigned here) and counts it in its minute.
  void record(RecentDecision decision);

  // Newest first, at most filter.limit.
  std::vector<RecentDecision> list(const RecentFilter& filter) const;
  // The record with this id, while it is still kept.
  std::optional<RecentDecision> find(std::uint64_t id) const;
  // The 60 minutes ending with the one holding `now`, oldest first (minutes without reviews count 0).
  std::vector<MinuteCounts> last_hour(std::chrono::system_clock::time_point now) const;
  // Reviews counted since the process started, by decision.
  std::array<std::uint64_t, 4> totals() const;
  std::size_t capacity() const noexcept { return slots_.size(); }
  std::size_t size() const;

 private:
  static constexpr std::size_t kMinutes = 60;
  mutable std::mutex mutex_;
  std::vector<RecentDecision> slots_;  // slot id % capacity; id 0: empty
  std::uint64_t next_id_ = 1;
  std::array<MinuteCounts, kMinutes> minutes_{};  // by minute number % 60
  std::array<std::uint64_t, 4> totals_{};
};

// The index of `decision` in kRingDecisions; nullopt when it is none of them.
std::optional<std::size_t> ring_decision_index(std::string_view decision);

}  // namespace imagegate::webhook
