// SharedCache: answers that several imagegate replicas share through Redis, so that one replica's registry
// round trip or signature verification serves them all (the chart's multi-replica install with
// `store: redis://...`). Two parts:
//
// - SharedCache: the blocking store. Values are opaque strings with a TTL; a claim is a short lease
//   (SET NX PX with a random token) that says "this replica is asking the registry for this key", so the
//   others wait for its value instead of asking too. Calls are bounded by the connection timeout (2 s),
//   never throw, and answer `unavailable` when Redis cannot. Keys are prefixed `imagegate:cache:` (values)
//   and `imagegate:claim:` (leases); callers pass keys without secrets in them (hash credentials).
//
// - SharedLookup: its asynchronous face for the io threads. Blocking calls run on a small thread pool of
//   its own (common/offload.h); the awaiting coroutine resumes on its executor. Redis being unavailable is
//   never an admission failure here: the caller just computes the answer itself (and counts an error).
//
// Redis is inside imagegate's trust boundary: whoever can write it can also write scan verdicts. Values read
// back are parsed defensively by their owners; one that does not parse counts as a miss.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include "common/result.h"

namespace imagegate::verifier {

class SharedCache {
 public:
  virtual ~SharedCache() = default;
  // nullopt: no value under `key`.
  virtual Result<std::optional<std::string>> get(const std::string& key) = 0;
  virtual Status put(const std::string& key, const std::string& value, std::chrono::milliseconds ttl) = 0;
  // The claim's token when this caller now holds the lease on `key` for `ttl`; nullopt when another does.
  virtual Result<std::optional<std::string>> claim(const std::string& key, std::chrono::milliseconds ttl) = 0;
  // Ends the lease if `token` still holds it (compare-and-delete): a lease that expired and was taken by
  // another replica is left alone.
  virtual Status release(const std::string& key, const std::string& token) = 0;
};

// "redis://HOST:PORT[/DB]" (the verdict store's syntax); connects now.
Result<std::unique_ptr<SharedCache>> open_redis_shared_cache(std::string_view url);

class SharedLookup {
 public:
  explicit SharedLookup(std::shared_ptr<SharedCache> cache, std::size_t threads = 2);
  ~SharedLookup();
  SharedLookup(const SharedLookup&) = delete;
  SharedLookup& operator=(const SharedLookup&) = delete;

  struct Claim {
    std::optional<std::string> value;  // another replica's answer: use it
    std::string token;                 // non-empty: this replica holds the lease; compute, then publish()
                                       // or abandon(). Empty with no value: compute without a lease.
  };
  // The value under `key` if a replica stored it. Otherwise tries to take the lease (for `lease`): taken ->
  // token set. Held by another replica -> polls (every 20 ms) for its value for up to `wait`; when the
  // holder gives up or the wait ends, takes the lease or computes without one. Redis unavailable -> an
  // empty Claim (compute locally). Honours cancellation.
  boost::asio::awaitable<Claim> acquire(std::string key, std::chrono::milliseconds lease,
                                        std::chrono::milliseconds wait);
  // Stores `value` for `ttl` and ends the lease `token` (if any). Errors are counted, not returned.
  boost::asio::awaitable<void> publish(std::string key, std::string value, std::chrono::milliseconds ttl,
                                       std::string token);
  // Ends the lease without a value (the answer was not worth sharing: unavailable, cancelled).
  boost::asio::awaitable<void> abandon(std::string key, std::string token);

  struct Stats {
    std::uint64_t hits = 0;     // a value another replica stored (at once or after waiting)
    std::uint64_t misses = 0;   // computed here
    std::uint64_t waited = 0;   // waited on another replica's lease
    std::uint64_t errors = 0;   // Redis unavailable or a bad reply
  };
  Stats stats() const;

  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace imagegate::verifier
