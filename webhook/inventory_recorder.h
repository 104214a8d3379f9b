// InventoryRecorder: the AdmissionObserver that writes what was admitted into the store's inventory
// (verifier/verdict_store.h, InventoryEntry), off the io_context threads.
//
// admitted() only queues: it takes a mutex, merges the sightings into a bounded map of pending entries
// (the same key seen twice before a write is one entry with the later last_seen) and returns. One worker
// thread writes the pending entries in batches (record_seen: one transaction per batch), so admission
// latency does not depend on the store. When the queue is full new sightings are dropped; a failed write
// is dropped too (the next admission of the same workload records it again). Neither ever changes an
// admission answer: both are counted in the metrics (imagegate_inventory_records_total{result}).
//
// Thread-safe. The destructor writes what is still queued (bounded by the store's own timeouts) and joins
// the worker.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>

#include "verifier/verdict_store.h"
#include "webhook/policy_admission_service.h"

namespace imagegate::webhook {

class Metrics;

struct InventoryRecorderOptions {
  std::size_t max_pending = 10'000;  // distinct entries waiting to be written
  std::size_t max_batch = 500;       // entries per record_seen call
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
  // Blocks until nothing is queued or being written (every write done or failed). Tests.
  void flush();

 private:
  using Key = std::tuple<std::string, std::string, std::string, std::string, std::string>;
  void run();

  std::shared_ptr<verifier::VerdictStore> store_;
  Metrics* metrics_;
  InventoryRecorderOptions options_;
  std::mutex mutex_;  // guards everything below
  std::condition_variable wake_;      // the worker: work to do, or stop
  std::condition_variable progress_;  // flush(): a batch finished
  std::map<Key, verifier::InventoryEntry> pending_;
  bool busy_ = false;  // the worker is writing a batch it took from pending_
  bool stop_ = false;
  std::thread worker_;  // last: starts after everything above exists
};

}  // namespace imagegate::webhook
