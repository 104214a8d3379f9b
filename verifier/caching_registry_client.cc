// GCC 12 false positives inside Asio at inlined header locations (see webhook/https_server.cc).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include "verifier/caching_registry_client.h"

#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace imagegate::verifier {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using Channel = asio::experimental::concurrent_channel<void(boost::system::error_code)>;

namespace {

struct Entry {
  std::optional<ResolvedImage> good;       // last good answer
  Clock::time_point good_until{};          // fresh until
  Clock::time_point stale_until{};         // usable on error until
  std::optional<Error> negative;           // cached not_found
  Clock::time_point negative_until{};
};

// One in-flight round trip; waiters park on their own channel until the leader finishes.
struct Flight {
  std::optional<Result<ResolvedImage>> result;
  std::vector<std::shared_ptr<Channel>> waiters;
};

}  // namespace

struct CachingRegistryClient::State {
  CacheOptions options;
  std::function<std::string(const ImageReference&)> credentials_key;
  mutable std::mutex mutex;  // guards everything below
  std::map<std::string, Entry> entries;
  std::map<std::string, std::shared_ptr<Flight>> flights;
  Stats stats;
};

CachingRegistryClient::CachingRegistryClient(RegistryClient& inner, CacheOptions options,
                                             std::function<std::string(const ImageReference&)> credentials_key)
    : inner_(inner), state_(std::make_unique<State>()) {
  state_->options = options;
  state_->credentials_key = std::move(credentials_key);
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
  std::shared_ptr<Flight> flight;
  std::shared_ptr<Channel> wait_on;
  {
    std::lock_guard lock(state_->mutex);
    const auto now = Clock::now();
    if (auto it = state_->entries.find(key); it != state_->entries.end()) {
      if (it->second.negative && it->second.negative_until > now) {
        ++state_->stats.hits;
        co_return *it->second.negative;
      }
      if (it->second.good && it->second.good_until > now) {
        ++state_->stats.hits;
        ResolvedImage hit = *it->second.good;
        hit.from_cache = true;
        co_return hit;
      }
    }
    if (auto it = state_->flights.find(key); it != state_->flights.end()) {
      ++state_->stats.shared;
      wait_on = std::make_shared<Channel>(co_await asio::this_coro::executor, 1);
      it->second->waiters.push_back(wait_on);
      flight = it->second;
    } else {
      ++state_->stats.misses;
      flight = std::make_shared<Flight>();
      state_->flights.emplace(key, flight);
    }
  }
  if (wait_on) {
    auto [ec] = co_await wait_on->async_receive(asio::as_tuple(asio::use_awaitable));
    std::lock_guard lock(state_->mutex);
    if (ec || !flight->result) co_return Error{ErrorCode::deadline_exceeded, "cancelled waiting for " + ref.string()};
    co_return *flight->result;
  }

  Result<ResolvedImage> result = Error{ErrorCode::internal, "resolution did not complete"};
  try {
    result = co_await inner_.resolve(ref, options);
  } catch (...) {
    // Cancellation of the leader surfaces as an exception from some awaits; the waiters must still wake.
    result = Error{ErrorCode::deadline_exceeded, "resolution of " + ref.string() + " was cancelled"};
  }
  std::vector<std::shared_ptr<Channel>> waiters;
  {
    std::lock_guard lock(state_->mutex);
    const auto now = Clock::now();
    Entry& entry = state_->entries[key];
    if (result.ok()) {
      entry.good = *result;
      entry.good_until = now + state_->options.tag_ttl;
      entry.stale_until = entry.good_until + state_->options.stale_if_error;
      entry.negative.reset();
    } else if (result.error().code == ErrorCode::not_found) {
      entry.negative = result.error();
      entry.negative_until = now + state_->options.negative_ttl;
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
    if (!entry.good && !entry.negative) state_->entries.erase(key);
    if (state_->entries.size() > state_->options.max_entries) {
      // Bounded memory: drop expired entries, then (if still full) everything but this key.
      for (auto it = state_->entries.begin(); it != state_->entries.end();) {
        it = (it->second.stale_until <= now && it->second.negative_until <= now) ? state_->entries.erase(it)
                                                                                   : std::next(it);
      }
    }
    flight->result = result;
    waiters.swap(flight->waiters);
    state_->flights.erase(key);
  }
  for (const auto& w : waiters) w->try_send(boost::system::error_code{});
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
