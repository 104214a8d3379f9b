#include "common/asio_warnings.h"  // before any Asio header

#include "verifier/registry/caching_registry_client.h"

#include <algorithm>
#include <mutex>
#include <optional>
#include <vector>

#include "common/expiring_cache.h"
#include "common/single_flight.h"
#include "verifier/crypto/crypto.h"
#include "verifier/registry/shared_answer.h"

namespace imagegate::verifier {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using SystemClock = std::chrono::system_clock;

namespace {

constexpr std::string_view kSharedKeyPrefix = "registry:resolve:";

struct Entry {
  std::optional<ResolvedImage> good;       // last good answer
  Clock::time_point good_until{};          // fresh until
  Clock::time_point stale_until{};         // usable on error until
  std::optional<Error> negative;           // cached not_found
  Clock::time_point negative_until{};
};

}  // namespace

struct CachingRegistryClient::State {
  CacheOptions options;
  std::function<std::string(const ImageReference&)> credentials_key;
  std::shared_ptr<SharedLookup> shared;
  SingleFlight<Result<ResolvedImage>> flights;
  mutable std::mutex mutex;  // guards everything below
  ExpiringCache<Entry> entries{1};  // sized from options.max_entries by the constructor
  Stats stats;

  // A fresh local answer for `key` (counted as a hit), if any. Call with `mutex` held.
  std::optional<Result<ResolvedImage>> fresh(const std::string& key, Clock::time_point now) {
    const Entry* entry = entries.find(key, now);
    if (entry == nullptr) return std::nullopt;
    if (entry->negative && entry->negative_until > now) {
      ++stats.hits;
      return Result<ResolvedImage>(*entry->negative);
    }
    if (entry->good && entry->good_until > now) {
      ++stats.hits;
      ResolvedImage hit = *entry->good;
      hit.from_cache = true;
      return Result<ResolvedImage>(std::move(hit));
    }
    return std::nullopt;
  }

  // The entry under `key` as it stands (empty if none), to be changed and stored back with store().
  Entry current(const std::string& key, Clock::time_point now) {
    const Entry* entry = entries.find(key, now);
    return entry != nullptr ? *entry : Entry{};
  }

  // Keeps `entry` while any part of it is still usable (fresh, stale-if-error or negative). Bounded:
  // past max_entries the oldest go first. Call with `mutex` held.
  void store(const std::string& key, Entry entry, Clock::time_point now) {
    if (!entry.good && !entry.negative) {
      entries.erase(key);
      return;
    }
    const auto until = std::max(entry.stale_until, entry.negative_until);
    entries.put(key, std::move(entry), until, now);
  }
};

CachingRegistryClient::CachingRegistryClient(RegistryClient& inner, CacheOptions options,
                                             std::function<std::string(const ImageReference&)> credentials_key,
                                             std::shared_ptr<SharedLookup> shared)
    : inner_(inner), state_(std::make_unique<State>()) {
  state_->options = options;
  state_->entries = ExpiringCache<Entry>(options.max_entries);
  state_->credentials_key = std::move(credentials_key);
  state_->shared = std::move(shared);
}

CachingRegistryClient::~CachingRegistryClient() = default;

CachingRegistryClient::Stats CachingRegistryClient::stats() const {
  std::lock_guard lock(state_->mutex);
  return state_->stats;
}

asio::awaitable<Result<ResolvedImage>> CachingRegistryClient::resolve(const ImageReference& ref,
                                                                      ResolveOptions options) {
  // A digest reference is its own answer; details (media type, platforms) always go to the registry.
  if (options.details || ref.has_digest()) co_return co_await inner_.resolve(ref, options);
  const std::string key = ref.string() + "|" + (state_->credentials_key ? state_->credentials_key(ref) : "");
  {
    std::lock_guard lock(state_->mutex);
    if (auto hit = state_->fresh(key, Clock::now())) co_return std::move(*hit);
  }
  // Named callables, not temporaries in the co_await expression: GCC 12 destroys those twice.
  std::function<asio::awaitable<Result<ResolvedImage>>()> work = [this, ref, options, key]() {
    return lead(ref, options, key);
  };
  const std::string name = ref.string();
  std::function<Result<ResolvedImage>()> cancelled = [name]() -> Result<ResolvedImage> {
    return Error{ErrorCode::deadline_exceeded, "resolution of " + name + " was cancelled"};
  };
  bool waited = false;
  Result<ResolvedImage> result = co_await state_->flights.run(key, std::move(work), std::move(cancelled), &waited);
  if (waited) {
    std::lock_guard lock(state_->mutex);
    ++state_->stats.shared;
  }
  co_return result;
}

// The flight's leader: the local cache once more (a flight may have ended between the caller's look and
// its joining), then the shared cache, then the registry.
asio::awaitable<Result<ResolvedImage>> CachingRegistryClient::lead(ImageReference ref, ResolveOptions options,
                                                                   std::string key) {
  {
    std::lock_guard lock(state_->mutex);
    if (auto hit = state_->fresh(key, Clock::now())) co_return std::move(*hit);
    ++state_->stats.misses;
  }
  const CacheOptions& opts = state_->options;
  SharedLookup* shared = state_->shared.get();
  const std::string shared_key = shared != nullptr ? std::string(kSharedKeyPrefix) + sha256_hex(key) : std::string();
  std::string token;
  if (shared != nullptr) {
    SharedLookup::Claim claim = co_await shared->acquire(shared_key, opts.shared_wait, opts.shared_wait);
    if (claim.value) {
      const auto sys_now = SystemClock::now();
      if (auto answer = decode_shared_answer(*claim.value, sys_now)) {
        // Never longer here than the publisher said, nor than this replica's own TTLs.
        const auto left = std::chrono::duration_cast<Clock::duration>(answer->expires_at - sys_now);
        const auto now = Clock::now();
        std::lock_guard lock(state_->mutex);
        Entry entry = state_->current(key, now);
        if (answer->not_found) {
          Error e = not_found(*answer->not_found);
          entry.negative = e;
          entry.negative_until = now + std::min<Clock::duration>(opts.negative_ttl, left);
          state_->store(key, std::move(entry), now);
          co_return e;
        }
        entry.good = *answer->good;
        entry.good_until = now + std::min<Clock::duration>(opts.tag_ttl, left);
        entry.stale_until = entry.good_until + opts.stale_if_error;
        entry.negative.reset();
        state_->store(key, std::move(entry), now);
        ResolvedImage hit = *answer->good;
        hit.from_cache = true;
        co_return hit;
      }
      // Unparsable or expired: a miss, answered from the registry (and overwritten below).
    }
    token = std::move(claim.token);
  }

  Result<ResolvedImage> result = Error{ErrorCode::internal, "resolution did not complete"};
  std::exception_ptr failure;
  try {
    result = co_await inner_.resolve(ref, options);
  } catch (...) {
    // Cancellation surfaces as an exception from some awaits: end the lease (best effort), then let the
    // single flight wake the waiters.
    failure = std::current_exception();
  }
  if (failure) {
    if (!token.empty()) {
      try {
        co_await shared->abandon(shared_key, token);
      } catch (...) {
        // Still cancelled: the lease expires on its own after shared_wait.
      }
    }
    std::rethrow_exception(failure);
  }

  if (shared != nullptr) {
    // Values named, not temporaries in the co_await expression (GCC 12, see common/single_flight.h).
    const bool definitive = result.ok() || result.error().code == ErrorCode::not_found;
    const std::chrono::milliseconds ttl = result.ok() ? opts.tag_ttl : opts.negative_ttl;
    if (definitive) {
      const std::string value = encode_shared_answer(result, SystemClock::now() + ttl);
      co_await shared->publish(shared_key, value, ttl, token);
    } else {
      co_await shared->abandon(shared_key, token);
    }
  }

  std::lock_guard lock(state_->mutex);
  const auto now = Clock::now();
  Entry entry = state_->current(key, now);
  if (result.ok()) {
    entry.good = *result;
    entry.good_until = now + opts.tag_ttl;
    entry.stale_until = entry.good_until + opts.stale_if_error;
    entry.negative.reset();
  } else if (result.error().code == ErrorCode::not_found) {
    entry.negative = result.error();
    entry.negative_until = now + opts.negative_ttl;
  } else if ((result.error().code == ErrorCode::unavailable ||
              result.error().code == ErrorCode::deadline_exceeded) &&
             entry.good && entry.stale_until > now) {
    ResolvedImage stale = *entry.good;
    stale.from_cache = true;
    stale.stale = true;
    stale.warning = "registry unavailable (" + result.error().message + "); using the digest resolved earlier";
    ++state_->stats.stale;
    result = stale;
  }
  state_->store(key, std::move(entry), now);
  co_return result;
}

asio::awaitable<Result<std::string>> CachingRegistryClient::fetch_blob(const ImageReference& ref, std::string digest,
                                                                       std::size_t max_bytes) {
  co_return co_await inner_.fetch_blob(ref, std::move(digest), max_bytes);
}

asio::awaitable<Result<FetchedManifest>> CachingRegistryClient::fetch_manifest(const ImageReference& ref) {
  co_return co_await inner_.fetch_manifest(ref);
}

asio::awaitable<Result<FetchedManifest>> CachingRegistryClient::fetch_referrers(const ImageReference& ref,
                                                                                std::string digest) {
  co_return co_await inner_.fetch_referrers(ref, std::move(digest));
}

}  // namespace imagegate::verifier
