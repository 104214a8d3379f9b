// ExpiringCache: a map whose entries expire and whose size is bounded, for the caches that only save round
// trips (registry answers, signature results, scan verdicts). When an insert finds it full it first drops
// what has expired, then the oldest insertions, so a flood of new keys evicts old ones a few at a time and
// never empties the cache at once (no thundering herd on the registry after it fills).
//
// Not thread-safe: its owner guards it with its own mutex. Memory: about the keys and values plus ~100
// bytes of bookkeeping per entry (docs/BENCHMARKS.md, "Memory", measures it with 100k digests).
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace imagegate {

template <typename Value, typename Clock = std::chrono::steady_clock>
class ExpiringCache {
 public:
  using TimePoint = typename Clock::time_point;

  explicit ExpiringCache(std::size_t max_entries) : max_entries_(max_entries == 0 ? 1 : max_entries) {}
  // order_ points into entries_: moving keeps both sets of nodes, copying would not.
  ExpiringCache(const ExpiringCache&) = delete;
  ExpiringCache& operator=(const ExpiringCache&) = delete;
  ExpiringCache(ExpiringCache&&) noexcept = default;
  ExpiringCache& operator=(ExpiringCache&&) noexcept = default;

  // The value under `key` if it has not expired at `now` (an expired entry is dropped).
  const Value* find(const std::string& key, TimePoint now) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return nullptr;
    if (it->second.expires <= now) {
      erase(it);
      return nullptr;
    }
    return &it->second.value;
  }

  // Inserts or replaces. A replaced entry keeps its age for eviction (it was first inserted then).
  void put(const std::string& key, Value value, TimePoint expires, TimePoint now) {
    if (auto it = entries_.find(key); it != entries_.end()) {
      it->second.value = std::move(value);
      it->second.expires = expires;
      return;
    }
    if (entries_.size() >= max_entries_) make_room(now);
    auto it = entries_.emplace(key, Entry{std::move(value), expires, {}}).first;
    order_.push_back(&it->first);  // a node's key never moves, whatever the map does
    it->second.order = std::prev(order_.end());
  }

  void erase(const std::string& key) {
    if (auto it = entries_.find(key); it != entries_.end()) erase(it);
  }
  void clear() {
    entries_.clear();
    order_.clear();
  }
  std::size_t size() const { return entries_.size(); }
  std::size_t max_entries() const { return max_entries_; }

 private:
  struct Entry {
    Value value;
    TimePoint expires;
    std::list<const std::string*>::iterator order;  // its place in order_ (oldest first)
  };
  using Map = std::unordered_map<std::string, Entry>;

  void erase(typename Map::iterator it) {
    order_.erase(it->second.order);
    entries_.erase(it);
  }

  // Frees at least one slot: the expired among the oldest eighth, else the oldest entry.
  void make_room(TimePoint now) {
    std::size_t looked = 0;
    for (auto key = order_.begin(); key != order_.end() && looked < max_entries_ / 8 + 1; ++looked) {
      auto it = entries_.find(**key);
      ++key;
      if (it->second.expires <= now) erase(it);
    }
    if (entries_.size() >= max_entries_) erase(entries_.find(*order_.front()));
  }

  std::size_t max_entries_;
  std::list<const std::string*> order_;  // keys of entries_, oldest first
  Map entries_;
};

}  // namespace imagegate
