#include "common/asio_warnings.h"  // before any Asio header

#include "verifier/registry/shared_cache.h"

#include <openssl/rand.h>

#include <atomic>
#include <functional>
#include <mutex>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/offload.h"
#include "verifier/redis/redis_connection.h"

namespace imagegate::verifier {

namespace asio = boost::asio;

namespace {

constexpr std::string_view kValuePrefix = "imagegate:cache:";
constexpr std::string_view kClaimPrefix = "imagegate:claim:";
constexpr std::chrono::milliseconds kTimeout{2'000};
// After a failed connect, calls fail at once for this long: a down Redis costs a review nothing but a
// local computation, not a connect timeout per lookup.
constexpr std::chrono::milliseconds kReconnectBackoff{1'000};
constexpr std::chrono::milliseconds kPollInterval{20};

// Compare-and-delete: only the holder of the lease ends it. A lease that expired and was taken by another
// replica has another token and is left alone.
constexpr std::string_view kReleaseScript =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

std::string random_token() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

std::string milliseconds_text(std::chrono::milliseconds ms) { return std::to_string(std::max<long long>(1, ms.count())); }

class RedisSharedCache final : public SharedCache {
 public:
  explicit RedisSharedCache(RedisAddress address)
      : conn_(std::move(address), kTimeout, "shared cache (redis)", kReconnectBackoff) {}

  Status connect_now() {
    std::lock_guard lock(mutex_);
    return conn_.ensure();
  }

  Result<std::optional<std::string>> get(const std::string& key) override {
    const std::string k = std::string(kValuePrefix) + key;
    std::lock_guard lock(mutex_);
    auto r = conn_.command({"GET", k});
    if (!r) return r.error();
    if ((*r)->type == REDIS_REPLY_NIL) return std::optional<std::string>();
    if ((*r)->type != REDIS_REPLY_STRING) return unexpected(**r);
    return std::optional<std::string>(std::string((*r)->str, (*r)->len));
  }

  Status put(const std::string& key, const std::string& value, std::chrono::milliseconds ttl) override {
    const std::string k = std::string(kValuePrefix) + key;
    const std::string px = milliseconds_text(ttl);
    std::lock_guard lock(mutex_);
    auto r = conn_.command({"SET", k, value, "PX", px});
    if (!r) return r.error();
    if ((*r)->type != REDIS_REPLY_STATUS) return unexpected(**r);
    return Ok{};
  }

  Result<std::optional<std::string>> claim(const std::string& key, std::chrono::milliseconds ttl) override {
    const std::string k = std::string(kClaimPrefix) + key;
    std::string token = random_token();
    if (token.empty()) return internal_error("shared cache: no random bytes for a claim token");
    const std::string px = milliseconds_text(ttl);
    std::lock_guard lock(mutex_);
    auto r = conn_.command({"SET", k, token, "NX", "PX", px});
    if (!r) return r.error();
    if ((*r)->type == REDIS_REPLY_NIL) return std::optional<std::string>();  // another holds it
    if ((*r)->type != REDIS_REPLY_STATUS) return unexpected(**r);
    return std::optional<std::string>(std::move(token));
  }

  Status release(const std::string& key, const std::string& token) override {
    const std::string k = std::string(kClaimPrefix) + key;
    std::lock_guard lock(mutex_);
    auto r = conn_.command({"EVAL", kReleaseScript, "1", k, token});
    if (!r) return r.error();
    if ((*r)->type != REDIS_REPLY_INTEGER) return unexpected(**r);
    return Ok{};
  }

 private:
  Error unexpected(const redisReply& r) const {
    if (r.type == REDIS_REPLY_ERROR) return conn_.unavailable(std::string(r.str, r.len));
    return conn_.unavailable("unexpected reply type " + std::to_string(r.type));
  }

  std::mutex mutex_;  // guards conn_
  RedisConnection conn_;
};

// One polling step of acquire(), in one trip to the pool: the value if stored, else the lease if free.
struct Step {
  bool error = false;
  std::optional<std::string> value;
  std::string token;
};

}  // namespace

Result<std::unique_ptr<SharedCache>> open_redis_shared_cache(std::string_view url) {
  auto address = parse_redis_url(url);
  if (!address) return address.error();
  auto cache = std::make_unique<RedisSharedCache>(std::move(address).value());
  if (Status s = cache->connect_now(); !s) return s.error();
  return std::unique_ptr<SharedCache>(std::move(cache));
}

struct SharedLookup::State {
  State(std::shared_ptr<SharedCache> c, std::size_t threads) : cache(std::move(c)), pool(threads) {}
  std::shared_ptr<SharedCache> cache;
  asio::thread_pool pool;
  std::atomic<std::uint64_t> hits{0};
  std::atomic<std::uint64_t> misses{0};
  std::atomic<std::uint64_t> waited{0};
  std::atomic<std::uint64_t> errors{0};
};

SharedLookup::SharedLookup(std::shared_ptr<SharedCache> cache, std::size_t threads)
    : state_(std::make_unique<State>(std::move(cache), std::max<std::size_t>(1, threads))) {}

SharedLookup::~SharedLookup() { state_->pool.join(); }

SharedLookup::Stats SharedLookup::stats() const {
  return Stats{state_->hits.load(), state_->misses.load(), state_->waited.load(), state_->errors.load()};
}

asio::awaitable<SharedLookup::Claim> SharedLookup::acquire(std::string key, std::chrono::milliseconds lease,
                                                           std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  std::shared_ptr<SharedCache> cache = state_->cache;
  bool counted_wait = false;
  for (;;) {
    // A named callable, not a temporary in the co_await expression: GCC 12 destroys those twice.
    std::function<Step()> step = [cache, key, lease]() -> Step {
      auto value = cache->get(key);
      if (!value) return Step{true, {}, {}};
      if (value->has_value()) return Step{false, std::move(*value), {}};
      auto token = cache->claim(key, lease);
      if (!token) return Step{true, {}, {}};
      return Step{false, {}, token->value_or("")};
    };
    Step s = co_await offload(state_->pool, std::move(step));
    if (s.error) {
      ++state_->errors;
      co_return Claim{};
    }
    if (s.value) {
      ++state_->hits;
      co_return Claim{std::move(s.value), {}};
    }
    if (!s.token.empty()) {
      ++state_->misses;
      co_return Claim{std::nullopt, std::move(s.token)};
    }
    // Another replica holds the lease: wait for its value (or for it to give the lease up).
    if (!counted_wait) {
      counted_wait = true;
      ++state_->waited;
    }
    if (std::chrono::steady_clock::now() + kPollInterval > deadline) {
      ++state_->misses;
      co_return Claim{};
    }
    asio::steady_timer timer(co_await asio::this_coro::executor, kPollInterval);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) {  // cancelled: the caller no longer wants an answer
      ++state_->misses;
      co_return Claim{};
    }
  }
}

asio::awaitable<void> SharedLookup::publish(std::string key, std::string value, std::chrono::milliseconds ttl,
                                            std::string token) {
  std::shared_ptr<SharedCache> cache = state_->cache;
  std::function<bool()> call = [cache, key, value, ttl, token] {
    bool ok = static_cast<bool>(cache->put(key, value, ttl));
    if (!token.empty()) ok = static_cast<bool>(cache->release(key, token)) && ok;
    return ok;
  };
  const bool ok = co_await offload(state_->pool, std::move(call));
  if (!ok) ++state_->errors;
}

asio::awaitable<void> SharedLookup::abandon(std::string key, std::string token) {
  if (token.empty()) co_return;
  std::shared_ptr<SharedCache> cache = state_->cache;
  std::function<bool()> call = [cache, key, token] { return static_cast<bool>(cache->release(key, token)); };
  const bool ok = co_await offload(state_->pool, std::move(call));
  if (!ok) ++state_->errors;
}

}  // namespace imagegate::verifier
