#include "policy/plan_cache.h"

#include <functional>
#include <mutex>

namespace imagegate::policy {

std::size_t PlanCache::KeyHash::operator()(const Key& key) const noexcept {
  const std::size_t h = std::hash<std::string_view>{}(key.image);
  // boost::hash_combine's mix of the two parts' hashes.
  return h ^ (std::hash<std::string_view>{}(key.namespace_name) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
}

PlanCache::Shard& PlanCache::shard_of(const Key& key) const {
  // The map hashes again with the same function; the shard takes the high bits, the buckets the low ones.
  return shards_[(KeyHash{}(key) >> 32) % kShards];
}

std::shared_ptr<const ImagePlan> PlanCache::find(const ImageUnderReview& image) const {
  const Key key{image.namespace_name, image.image};
  Shard& shard = shard_of(key);
  std::shared_lock lock(shard.mutex);
  auto it = shard.plans.find(key);
  return it == shard.plans.end() ? nullptr : it->second;
}

std::shared_ptr<const ImagePlan> PlanCache::insert(std::shared_ptr<const ImagePlan> plan) const {
  const std::size_t size = footprint(*plan);
  if (size > kMaxPlanBytes) return plan;
  const Key key{plan->image.namespace_name, plan->image.image};
  Shard& shard = shard_of(key);
  std::unique_lock lock(shard.mutex);
  auto [it, added] = shard.plans.try_emplace(key, plan);
  if (!added) return it->second;
  if (shard.ring.size() < kPlansPerShard) {
    shard.ring.push_back(std::move(plan));
  } else {
    std::shared_ptr<const ImagePlan>& victim = shard.ring[shard.oldest];
    shard.plans.erase(Key{victim->image.namespace_name, victim->image.image});
    shard.bytes -= footprint(*victim);
    victim = std::move(plan);
    shard.oldest = (shard.oldest + 1) % kPlansPerShard;
  }
  shard.bytes += size;
  return it->second;
}

std::size_t PlanCache::size() const {
  std::size_t n = 0;
  for (const Shard& shard : shards_) {
    std::shared_lock lock(shard.mutex);
    n += shard.plans.size();
  }
  return n;
}

std::size_t PlanCache::bytes() const {
  std::size_t n = 0;
  for (const Shard& shard : shards_) {
    std::shared_lock lock(shard.mutex);
    n += shard.bytes;
  }
  return n;
}

std::size_t PlanCache::footprint(const ImagePlan& plan) {
  // The plan itself, its map node and ring slot (a key, two shared_ptrs, the node's links and hash).
  std::size_t n = sizeof(ImagePlan) + sizeof(Key) + 2 * sizeof(std::shared_ptr<const ImagePlan>) + 32;
  auto heap = [](const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 : 0; };
  n += heap(plan.image.namespace_name) + heap(plan.image.image) + heap(plan.normalized) + heap(plan.plan.reason);
  n += heap(plan.plan.needs.signature_repository);
  for (const std::string& anchor : plan.plan.needs.anchors) n += sizeof(std::string) + heap(anchor);
  if (plan.reference) {
    n += heap(plan.reference->domain()) + heap(plan.reference->path()) + heap(plan.reference->tag()) +
         heap(plan.reference->digest());
  }
  return n;
}

}  // namespace imagegate::policy
