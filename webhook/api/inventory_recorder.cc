#include "webhook/api/inventory_recorder.h"

#include <algorithm>
#include <array>
#include <string_view>
#include <utility>
#include <vector>

#include "webhook/observe/metrics.h"

namespace imagegate::webhook {

namespace {

// Kinds whose pods are created with generateName "<name>-" (the controller's own name and a dash).
// Deployments and CronJobs are left out: their pods belong to a ReplicaSet or Job, whose own deletion
// (cascading from the Deployment's or CronJob's) forgets them.
constexpr std::array<std::string_view, 4> kPodOwners = {"ReplicaSet", "ReplicationController", "Job", "DaemonSet"};

}  // namespace

InventoryRecorder::InventoryRecorder(std::shared_ptr<verifier::VerdictStore> store, Metrics* metrics,
                                     InventoryRecorderOptions options)
    : store_(std::move(store)), metrics_(metrics), options_(options), worker_([this] { run(); }) {}

InventoryRecorder::~InventoryRecorder() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  worker_.join();
}

bool InventoryRecorder::queue(const WorkloadKey& key, bool replace, std::chrono::system_clock::time_point at,
                              std::map<ImageKey, verifier::InventoryEntry> entries) {
  auto it = pending_.find(key);
  if (it == pending_.end()) {
    Pending fresh{next_order_, replace, at, std::move(entries)};
    const std::size_t added = units(fresh);
    if (pending_units_ + added > options_.max_pending) return false;
    fifo_.emplace(next_order_++, key);
    pending_.emplace(key, std::move(fresh));
    pending_units_ += added;
    return true;
  }
  // Merged into the workload's pending change; computed aside first, so a change that does not fit
  // leaves the pending one as it was.
  Pending& p = it->second;
  std::map<ImageKey, verifier::InventoryEntry> merged;
  if (replace) {
    // Whatever was pending (an upsert, an earlier replacement, a deletion) is superseded: the store removes
    // what this replacement does not name, pending or already written.
    merged = std::move(entries);
  } else {
    merged = p.entries;
    for (auto& [image, entry] : entries) {
      auto [at_entry, inserted] = merged.try_emplace(image, entry);
      if (!inserted) {
        // Seen again before it was written: one write, the earlier first and the later last time.
        at_entry->second.first_seen = std::min(at_entry->second.first_seen, entry.first_seen);
        at_entry->second.last_seen = std::max(at_entry->second.last_seen, entry.last_seen);
      }
    }
  }
  const std::size_t before = units(p);
  const std::size_t after = merged.empty() ? 1 : merged.size();
  if (after > before && pending_units_ + (after - before) > options_.max_pending) return false;
  p.entries = std::move(merged);
  if (replace) {
    // A merge after a replacement stays a replacement (of the union); its time is the latest one.
    p.replace = true;
    p.at = std::max(p.at, at);
  }
  pending_units_ = pending_units_ - before + after;
  return true;
}

void InventoryRecorder::admitted(Admission admission) noexcept {
  std::size_t dropped = 0;
  bool added = false;
  try {
    std::map<ImageKey, verifier::InventoryEntry> entries;
    for (AdmittedImage& image : admission.images) {
      ImageKey key{image.image, image.digest};
      entries.try_emplace(std::move(key), verifier::InventoryEntry{admission.namespace_name, admission.kind,
                                                                   admission.name, std::move(image.image),
                                                                   std::move(image.digest), admission.at, admission.at});
    }
    if (entries.empty() && !admission.replaces) return;
    const std::size_t count = entries.empty() ? 1 : entries.size();
    std::lock_guard lock(mutex_);
    added = queue({admission.namespace_name, admission.kind, admission.name}, admission.replaces, admission.at,
                  std::move(entries));
    if (!added) dropped = count;
  } catch (...) {
    // Out of memory while queueing: the change is lost, the admission answer is not affected.
    dropped = std::max<std::size_t>(1, admission.images.size());
  }
  if (added) wake_.notify_one();
  if (dropped > 0 && metrics_ != nullptr) metrics_->inventory_records("dropped", dropped);
}

void InventoryRecorder::forgotten(Deletion deletion) noexcept {
  std::size_t dropped = 0;
  bool added = false;
  try {
    std::vector<WorkloadKey> keys{{deletion.namespace_name, deletion.kind, deletion.name}};
    if (std::find(kPodOwners.begin(), kPodOwners.end(), deletion.kind) != kPodOwners.end()) {
      keys.emplace_back(deletion.namespace_name, "Pod", deletion.name + "-");
    }
    std::lock_guard lock(mutex_);
    for (const WorkloadKey& key : keys) {
      if (queue(key, true, deletion.at, {})) {
        added = true;
      } else {
        ++dropped;
      }
    }
  } catch (...) {
    dropped = 1;
  }
  if (added) wake_.notify_one();
  if (dropped > 0 && metrics_ != nullptr) metrics_->inventory_records("dropped", dropped);
}

void InventoryRecorder::flush() {
  std::unique_lock lock(mutex_);
  progress_.wait(lock, [this] { return pending_.empty() && !busy_; });
}

void InventoryRecorder::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stop_ || !pending_.empty(); });
    if (pending_.empty()) return;  // stopping, and everything queued has been written
    std::vector<verifier::InventoryUpdate> batch;
    std::size_t batch_units = 0;
    // Oldest first; at least one workload per batch, however many entries it has.
    while (!fifo_.empty() && (batch.empty() || batch_units < options_.max_batch)) {
      const auto node = fifo_.begin();
      auto it = pending_.find(node->second);
      fifo_.erase(node);
      if (it == pending_.end()) continue;
      Pending& p = it->second;
      const std::size_t u = units(p);
      verifier::InventoryUpdate update{std::get<0>(it->first), std::get<1>(it->first), std::get<2>(it->first),
                                       p.replace, p.at, {}};
      update.entries.reserve(p.entries.size());
      for (auto& [image, entry] : p.entries) update.entries.push_back(std::move(entry));
      batch.push_back(std::move(update));
      batch_units += u;
      pending_units_ -= u;
      pending_.erase(it);
    }
    busy_ = true;
    lock.unlock();
    // The store call blocks (disk, network), outside the lock: admissions keep queueing meanwhile, and
    // what they queue becomes the next batch, written after this one (a workload's changes stay in order).
    const Status written = store_->update_inventory(batch);
    if (metrics_ != nullptr) metrics_->inventory_records(written ? "written" : "failed", batch_units);
    lock.lock();
    busy_ = false;
    progress_.notify_all();
  }
}

}  // namespace imagegate::webhook
