#include "webhook/inventory_recorder.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "webhook/metrics.h"

namespace imagegate::webhook {

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

void InventoryRecorder::admitted(Admission admission) noexcept {
  std::size_t dropped = 0;
  bool added = false;
  try {
    std::lock_guard lock(mutex_);
    for (AdmittedImage& image : admission.images) {
      Key key{admission.namespace_name, admission.kind, admission.name, image.image, image.digest};
      auto it = pending_.find(key);
      if (it != pending_.end()) {
        // Seen again before it was written: one write, the later time.
        if (admission.at > it->second.last_seen) it->second.last_seen = admission.at;
        continue;
      }
      if (pending_.size() >= options_.max_pending) {
        ++dropped;
        continue;
      }
      pending_.emplace(std::move(key), verifier::InventoryEntry{admission.namespace_name, admission.kind, admission.name,
                                                                std::move(image.image), std::move(image.digest),
                                                                admission.at, admission.at});
      added = true;
    }
  } catch (...) {
    // Out of memory while queueing: the sighting is lost, the admission answer is not affected.
    dropped = admission.images.size();
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
    std::vector<verifier::InventoryEntry> batch;
    batch.reserve(std::min(options_.max_batch, pending_.size()));
    while (!pending_.empty() && batch.size() < options_.max_batch) {
      batch.push_back(std::move(pending_.begin()->second));
      pending_.erase(pending_.begin());
    }
    busy_ = true;
    lock.unlock();
    // The store call blocks (disk, network), outside the lock: admissions keep queueing meanwhile, and
    // what they queue becomes the next batch.
    const Status written = store_->record_seen(batch);
    if (metrics_ != nullptr) metrics_->inventory_records(written ? "written" : "failed", batch.size());
    lock.lock();
    busy_ = false;
    progress_.notify_all();
  }
}

}  // namespace imagegate::webhook
