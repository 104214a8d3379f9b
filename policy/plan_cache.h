// PlanCache: the plans one policy snapshot made, keyed by (namespace, image as written), so an image seen
// before is planned (parsed, exemptions, allowlist, rule selection) once per snapshot, not once per review.
// A plan depends on nothing else, and a reload builds a new snapshot with an empty cache: the cache dies with
// the snapshot that owns it (CompiledPolicy::plan_cache), and a cached plan is never stale.
//
// Bounded, whatever the reviews: an attacker can send endless distinct image names. kShards shards of at most
// kPlansPerShard plans each, the oldest evicted first (FIFO, a ring per shard); a plan whose footprint() is over
// kMaxPlanBytes (a huge reference or reason) is planned every time, never kept. So the cache holds at most
// kMaxPlans plans and kMaxPlans * kMaxPlanBytes bytes of them (tests/policy/plan_cache_test.cc proves both).
//
// Thread-safe without a global lock: a key hashes to one shard, read under that shard's shared lock (many io
// threads find plans at once); an insert takes that shard's exclusive lock only. Plans are immutable and
// shared (std::shared_ptr<const ImagePlan>): an evicted plan lives on for the reviews still holding it.
//
// Internal to policy/.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <shared_mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "policy/evaluate.h"
#include "policy/glob_set.h"

namespace imagegate::policy {

// Plans `image` afresh with the given matcher (plan_image does this with Matcher::automaton on a miss): the
// differential tests compare the two matchers' plans, bench/plan times them. Defined in evaluate.cc.
ImagePlan make_plan(const CompiledPolicy& policy, const ImageUnderReview& image, Matcher matcher);

class PlanCache {
 public:
  static constexpr std::size_t kShards = 16;
  static constexpr std::size_t kPlansPerShard = 256;
  static constexpr std::size_t kMaxPlans = kShards * kPlansPerShard;  // 4,096 per snapshot
  static constexpr std::size_t kMaxPlanBytes = 2048;

  PlanCache() = default;
  PlanCache(const PlanCache&) = delete;
  PlanCache& operator=(const PlanCache&) = delete;

  // The cached plan for `image`, or nullptr.
  std::shared_ptr<const ImagePlan> find(const ImageUnderReview& image) const;
  // Keeps `plan` (keyed by its own `image`) unless it is too big, and returns the plan cached under its key:
  // `plan` itself, or the one another thread cached first (equal: plans are deterministic).
  std::shared_ptr<const ImagePlan> insert(std::shared_ptr<const ImagePlan> plan) const;

  // For tests and benchmarks (locks every shard in turn): plans held, and the sum of their footprints.
  std::size_t size() const;
  std::size_t bytes() const;
  // What a plan holds on the heap and inline, as the bound counts it (strings by capacity).
  static std::size_t footprint(const ImagePlan& plan);

 private:
  // Views into the plan's own `image`, which the map's value keeps alive.
  struct Key {
    std::string_view namespace_name;
    std::string_view image;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& key) const noexcept;
  };
  struct Shard {
    mutable std::shared_mutex mutex;
    std::unordered_map<Key, std::shared_ptr<const ImagePlan>, KeyHash> plans;
    std::vector<std::shared_ptr<const ImagePlan>> ring;  // insertion order, at most kPlansPerShard
    std::size_t oldest = 0;                              // the next to evict once the ring is full
    std::size_t bytes = 0;
  };

  Shard& shard_of(const Key& key) const;

  mutable std::array<Shard, kShards> shards_;
};

}  // namespace imagegate::policy
