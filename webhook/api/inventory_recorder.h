// InventoryRecorder: the AdmissionObserver that keeps the store's inventory (verifier/verdict/verdict_store.h,
// InventoryEntry) in step with the cluster, off the io_context threads:
//   - admitted CREATE: the workload's (image, digest) pairs are upserted (first_seen kept);
//   - admitted UPDATE naming every digest (Admission::replaces): the workload's entries become exactly
//     those pairs; digests it no longer names are removed;
//   - DELETE (forgotten()): the workload's entries are removed. Pods made by a controller are admitted
//     under their generateName ("web-7d9f8-"), never under the name they are deleted by, so deleting a
//     ReplicaSet, ReplicationController, Job or DaemonSet named N also forgets the Pod entry "N-"
//     (their pods' generateName). A Pod deleted by its own name only forgets an entry of that name.
//
// admitted() and forgotten() only queue: they take a mutex, fold the change into a bounded map of
// pending changes per workload (a later change to the same workload is merged into it: CREATE then
// CREATE is one upsert with the later last_seen, anything then UPDATE or DELETE is that replacement) and
// return. One worker thread writes the pending changes in batches (update_inventory: one transaction per
// batch), in the order the workloads were first queued, so admission latency does not depend on the store.
// When the queue is full new changes are dropped; a failed write is dropped too (the next admission of
// the workload records it again; a lost deletion is what `imagegate inventory prune` is for). Neither
// ever changes an admission answer: both are counted in the metrics
// (imagegate_inventory_records_total{result}, one per entry written, or per workload forgotten).
//
// Thread-safe. The destructor writes what is still queued (bounded by the store's own timeouts) and joins
// the worker.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <utility>

#include "verifier/verdict/verdict_store.h"
#include "webhook/admission/policy_admission_service.h"

namespace imagegate::webhook {

class Metrics;

struct InventoryRecorderOptions {
  std::size_t max_pending = 10'000;  // queued entries (a forgotten workload counts as one)
  std::size_t max_batch = 500;       // entries per update_inventory call (about)
};

class InventoryRecorder final : public AdmissionObserver {
 public:
  // `metrics` may be null; it must outlive the recorder.
  InventoryRecorder(std::shared_ptr<verifier::VerdictStore> store, Metrics* metrics,
                    InventoryRecorderOptions options = {});
  ~InventoryRecorder() override;
  InventoryRecorder(const InventoryRecorder&) = delete;
  InventoryRecorder& operator=(const InventoryRecorder&) = delete;

  void admitted(Admission admission) noexcept override;
  void forgotten(Deletion deletion) noexcept override;
  // Blocks until nothing is queued or being written (every write done or failed). Tests.
  void flush();

 private:
  using WorkloadKey = std::tuple<std::string, std::string, std::string>;  // namespace, kind, name
  using ImageKey = std::pair<std::string, std::string>;                  // image, digest
  struct Pending {
    std::uint64_t order = 0;  // when the workload was first queued: batches keep that order
    bool replace = false;     // see verifier::InventoryUpdate
    std::chrono::system_clock::time_point at{};
    std::map<ImageKey, verifier::InventoryEntry> entries;
  };
  static std::size_t units(const Pending& p) { return p.entries.empty() ? 1 : p.entries.size(); }
  // Folds a change into pending_; false when it would exceed max_pending (the change is dropped whole).
  bool queue(const WorkloadKey& key, bool replace, std::chrono::system_clock::time_point at,
             std::map<ImageKey, verifier::InventoryEntry> entries);
  void run();

  std::shared_ptr<verifier::VerdictStore> store_;
  Metrics* metrics_;
  InventoryRecorderOptions options_;
  std::mutex mutex_;  // guards everything below
  std::condition_variable wake_;      // the worker: work to do, or stop
  std::condition_variable progress_;  // flush(): a batch finished
  std::map<WorkloadKey, Pending> pending_;
  std::map<std::uint64_t, WorkloadKey> fifo_;  // pending_'s keys by Pending::order
  std::size_t pending_units_ = 0;     // sum of units() over pending_
  std::uint64_t next_order_ = 0;
  bool busy_ = false;  // the worker is writing a batch it took from pending_
  bool stop_ = false;
  std::thread worker_;  // last: starts after everything above exists
};

}  // namespace imagegate::webhook
