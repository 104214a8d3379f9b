#include "webhook/evidence/verdict_lookup.h"

#include <functional>

#include "common/offload.h"
#include "common/rfc3339.h"
#include "verifier/image/image_reference.h"

namespace imagegate::webhook {

namespace asio = boost::asio;

namespace {

// Digests whose verdict (or its absence) is remembered for the TTL; past it the oldest go first.
constexpr std::size_t kMaxCacheEntries = 100'000;

}  // namespace

VerdictLookup::VerdictLookup(std::shared_ptr<verifier::VerdictStore> store, std::chrono::milliseconds ttl,
                             std::size_t threads)
    : store_(std::move(store)), ttl_(ttl), pool_(threads), cache_(kMaxCacheEntries) {}

VerdictLookup::~VerdictLookup() { pool_.join(); }

std::optional<std::optional<verifier::ScanVerdict>> VerdictLookup::cached(const std::string& digest) {
  std::lock_guard lock(mutex_);
  const auto* hit = cache_.find(digest, std::chrono::steady_clock::now());
  if (hit == nullptr) return std::nullopt;
  return *hit;
}

void VerdictLookup::remember(const std::string& digest, std::optional<verifier::ScanVerdict> verdict) {
  if (ttl_.count() <= 0) return;
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  cache_.put(digest, std::move(verdict), now + ttl_, now);
}

asio::awaitable<Result<std::optional<verifier::ScanVerdict>>> VerdictLookup::get(std::string digest) {
  if (auto hit = cached(digest)) co_return std::move(*hit);
  // Named callables, not temporaries in the co_await expression: GCC 12 destroys those twice.
  std::function<asio::awaitable<Result<std::optional<verifier::ScanVerdict>>>()> work = [this, digest]() {
    return read_through(digest);
  };
  std::function<Result<std::optional<verifier::ScanVerdict>>()> cancelled =
      [digest]() -> Result<std::optional<verifier::ScanVerdict>> {
    return Error{ErrorCode::deadline_exceeded, "verdict lookup for " + digest + " was cancelled"};
  };
  Result<std::optional<verifier::ScanVerdict>> r = co_await flights_.run(digest, std::move(work), std::move(cancelled));
  co_return r;
}

// The flight's leader: the cache once more (a flight may have ended between the caller's look and its
// joining), then the store.
asio::awaitable<Result<std::optional<verifier::ScanVerdict>>> VerdictLookup::read_through(std::string digest) {
  if (auto hit = cached(digest)) co_return std::move(*hit);
  auto store = store_;
  std::function<Result<std::optional<verifier::ScanVerdict>>()> call = [store, digest] { return store->get(digest); };
  Result<std::optional<verifier::ScanVerdict>> r = co_await offload(pool_, std::move(call));
  if (r) remember(digest, *r);
  co_return r;
}

asio::awaitable<Status> VerdictLookup::put(verifier::ScanVerdict verdict) {
  auto store = store_;
  std::function<Status()> call = [store, verdict] { return store->put(verdict); };
  Status s = co_await offload(pool_, std::move(call));
  if (s) {
    remember(verdict.digest, verdict);
  } else {
    std::lock_guard lock(mutex_);
    cache_.erase(verdict.digest);
  }
  co_return s;
}

asio::awaitable<Result<std::vector<verifier::ScanVerdict>>> VerdictLookup::find_by_image(std::string image,
                                                                                      std::size_t limit) {
  auto store = store_;
  std::function<Result<std::vector<verifier::ScanVerdict>>()> call = [store, image, limit] {
    return store->find_by_image(image, limit);
  };
  Result<std::vector<verifier::ScanVerdict>> r = co_await offload(pool_, std::move(call));
  co_return r;
}

asio::awaitable<Result<VerdictLookup::InventorySnapshot>> VerdictLookup::inventory(verifier::InventoryQuery query,
                                                                                     bool with_verdicts) {
  auto store = store_;
  std::function<Result<InventorySnapshot>()> call = [store, query, with_verdicts]() -> Result<InventorySnapshot> {
    auto listed = store->list_inventory(query);
    if (!listed) return listed.error();
    InventorySnapshot out;
    out.entries = std::move(listed).value();
    if (!with_verdicts) return out;
    for (const auto& entry : out.entries) {
      if (out.verdicts.count(entry.digest) > 0) continue;
      auto verdict = store->get(entry.digest);
      if (!verdict) return verdict.error();
      out.verdicts.emplace(entry.digest, std::move(verdict).value());
    }
    return out;
  };
  Result<InventorySnapshot> r = co_await offload(pool_, std::move(call));
  co_return r;
}

asio::awaitable<policy::Evidence> VerdictEvidenceSource::gather(const policy::ImageUnderReview& image,
                                                                const policy::Plan& plan,
                                                                const PolicySnapshot& snapshot) {
  policy::Evidence e = co_await inner_.gather(image, plan, snapshot);
  if (!plan.needs.verdict) co_return e;
  std::string digest = e.digest;
  if (digest.empty()) {
    auto ref = verifier::ImageReference::parse_normalized(image.image);
    if (auto* parsed = std::get_if<verifier::ImageReference>(&ref); parsed != nullptr && parsed->has_digest()) {
      digest = parsed->digest();
    }
  }
  if (digest.empty()) {
    e.verdict = {policy::EvidenceStatus::unavailable, "no digest to look up a scan verdict for"};
    co_return e;
  }
  Result<std::optional<verifier::ScanVerdict>> r = co_await lookup_.get(digest);
  if (!r) {
    e.verdict = {policy::EvidenceStatus::unavailable, "verdict store: " + r.error().message};
  } else if (!r->has_value()) {
    e.verdict = {policy::EvidenceStatus::failed, "no scan verdict for " + digest};
    e.scan_missing = true;
  } else {
    const verifier::ScanVerdict& v = **r;
    e.verdict = {policy::EvidenceStatus::verified, "scanned by " + v.scanner + " at " + format_rfc3339(v.scanned_at)};
    e.scan = std::move(**r);
  }
  co_return e;
}

}  // namespace imagegate::webhook
