// VerdictLookup: the server's asynchronous access to a VerdictStore, and VerdictEvidenceSource, which adds
// the scan verdict to the evidence another EvidenceSource gathered.
//
// Store calls block (SQLite disk I/O, Redis round trips), so they never run on an io_context thread: each
// runs on a small thread pool of its own (common/offload.h) and the awaiting coroutine resumes on its
// executor. Concurrent get() misses for one digest share one store call (common/single_flight.h).
// Each store bounds its own calls (SQLite busy timeout, Redis socket timeouts); the admission flow does
// not wait for a lookup past the review's budget. Reads go through an in-memory cache (hits and misses
// for `ttl`; errors are not cached); put() refreshes the entry for its digest.
//
// Thread-safe. The lookup must outlive every coroutine that awaits it (the server owns it).
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include "common/expiring_cache.h"
#include "common/result.h"
#include "common/single_flight.h"
#include "verifier/image/scan_verdict.h"
#include "verifier/verdict/verdict_store.h"
#include "webhook/admission/policy_admission_service.h"

namespace imagegate::webhook {

class VerdictLookup {
 public:
  VerdictLookup(std::shared_ptr<verifier::VerdictStore> store, std::chrono::milliseconds ttl,
                std::size_t threads = 2);
  ~VerdictLookup();
  VerdictLookup(const VerdictLookup&) = delete;
  VerdictLookup& operator=(const VerdictLookup&) = delete;

  boost::asio::awaitable<Result<std::optional<verifier::ScanVerdict>>> get(std::string digest);
  boost::asio::awaitable<Status> put(verifier::ScanVerdict verdict);
  boost::asio::awaitable<Result<std::vector<verifier::ScanVerdict>>> find_by_image(std::string image,
                                                                                std::size_t limit);

  // The inventory entries matching `query` and, with `with_verdicts`, the stored verdict of each distinct
  // digest among them (nullopt: none), read from the store itself, not the cache: an answer about what
  // runs reflects a verdict another replica stored a moment ago.
  struct InventorySnapshot {
    std::vector<verifier::InventoryEntry> entries;
    std::map<std::string, std::optional<verifier::ScanVerdict>> verdicts;  // by digest
  };
  boost::asio::awaitable<Result<InventorySnapshot>> inventory(verifier::InventoryQuery query, bool with_verdicts);

  const std::shared_ptr<verifier::VerdictStore>& store() const noexcept { return store_; }

 private:
  std::optional<std::optional<verifier::ScanVerdict>> cached(const std::string& digest);
  boost::asio::awaitable<Result<std::optional<verifier::ScanVerdict>>> read_through(std::string digest);
  void remember(const std::string& digest, std::optional<verifier::ScanVerdict> verdict);

  std::shared_ptr<verifier::VerdictStore> store_;
  std::chrono::milliseconds ttl_;
  boost::asio::thread_pool pool_;
  SingleFlight<Result<std::optional<verifier::ScanVerdict>>> flights_;  // get() misses, by digest
  std::mutex mutex_;  // guards cache_
  ExpiringCache<std::optional<verifier::ScanVerdict>> cache_;  // by digest; "no verdict" is cached too
};

// Wraps another EvidenceSource: for plans that need a verdict, looks up the verdict of the digest (the one
// the inner source resolved, else the reference's own) and fills Evidence.verdict / scan / scan_missing.
// No digest -> unavailable (the failurePolicy settles it); store error -> unavailable.
class VerdictEvidenceSource final : public EvidenceSource {
 public:
  VerdictEvidenceSource(EvidenceSource& inner, VerdictLookup& lookup) : inner_(inner), lookup_(lookup) {}
  boost::asio::awaitable<policy::Evidence> gather(const policy::ImageUnderReview& image, const policy::Plan& plan,
                                                  const PolicySnapshot& snapshot) override;

 private:
  EvidenceSource& inner_;
  VerdictLookup& lookup_;
};

}  // namespace imagegate::webhook
