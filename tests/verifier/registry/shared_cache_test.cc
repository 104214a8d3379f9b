// Tests verifier/registry/shared_cache.cc against real redis-server processes on free 127.0.0.1 ports (stopped by
// PID): values with TTLs, leases exclusive between two SharedCache objects (two replicas), release only with
// the holder's token, a stopped or frozen Redis answering `unavailable` within the timeout and the
// reconnection after; SharedLookup's waiting on another replica's lease, taking over an abandoned one, and
// computing locally when Redis is down.
#include "verifier/registry/shared_cache.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "tests/test_support.h"

namespace imagegate::verifier {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::shared_ptr<SharedCache> open_cache(const std::string& url) {
  auto c = open_redis_shared_cache(url);
  EXPECT_TRUE(c.ok()) << (c ? "" : c.error().message);
  if (!c) return nullptr;
  return std::shared_ptr<SharedCache>(std::move(c).value());
}

// A few milliseconds for the reconnect back-off after a failed connect.
void wait_past_backoff() { std::this_thread::sleep_for(1100ms); }

TEST(SharedCacheTest, GetPutAndTtlExpiry) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.running());
  auto cache = open_cache(redis.url());
  ASSERT_NE(cache, nullptr);
  auto missing = cache->get("k1");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  // Binary-safe values: NUL bytes and spaces survive the trip.
  const std::string value("a value\0with a NUL", 18);
  ASSERT_TRUE(cache->put("k1", value, 300ms).ok());
  auto got = cache->get("k1");
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, value);
  std::this_thread::sleep_for(450ms);
  auto expired = cache->get("k1");
  ASSERT_TRUE(expired.ok());
  EXPECT_FALSE(expired->has_value());
}

TEST(SharedCacheTest, ValuesAreSharedBetweenReplicasAndDbsAreSeparate) {
  testing::RedisServer redis;
  auto a = open_cache(redis.url(0));
  auto b = open_cache(redis.url(0));
  auto other_db = open_cache(redis.url(3));
  ASSERT_TRUE(a && b && other_db);
  ASSERT_TRUE(a->put("shared", "from a", 10s).ok());
  auto seen = b->get("shared");
  ASSERT_TRUE(seen.ok() && seen->has_value());
  EXPECT_EQ(**seen, "from a");
  auto not_seen = other_db->get("shared");
  ASSERT_TRUE(not_seen.ok());
  EXPECT_FALSE(not_seen->has_value());
}

TEST(SharedCacheTest, ClaimIsExclusiveAndOnlyTheHolderReleasesIt) {
  testing::RedisServer redis;
  auto a = open_cache(redis.url());
  auto b = open_cache(redis.url());
  ASSERT_TRUE(a && b);
  auto ta = a->claim("img", 10s);
  ASSERT_TRUE(ta.ok());
  ASSERT_TRUE(ta->has_value());
  EXPECT_EQ((*ta)->size(), 32U);
  auto tb = b->claim("img", 10s);
  ASSERT_TRUE(tb.ok());
  EXPECT_FALSE(tb->has_value()) << "a second replica must not take a held lease";
  // A wrong token does not end the lease.
  ASSERT_TRUE(b->release("img", "not-the-token").ok());
  tb = b->claim("img", 10s);
  ASSERT_TRUE(tb.ok());
  EXPECT_FALSE(tb->has_value());
  // The holder's token does.
  ASSERT_TRUE(a->release("img", **ta).ok());
  tb = b->claim("img", 10s);
  ASSERT_TRUE(tb.ok());
  ASSERT_TRUE(tb->has_value());
  EXPECT_NE(**tb, **ta);
  // Leases are per key.
  auto other = a->claim("another image", 10s);
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->has_value());
}

TEST(SharedCacheTest, AnExpiredLeaseTakenByAnotherIsNotReleasedByTheOldHolder) {
  testing::RedisServer redis;
  auto a = open_cache(redis.url());
  auto b = open_cache(redis.url());
  ASSERT_TRUE(a && b);
  auto ta = a->claim("img", 150ms);
  ASSERT_TRUE(ta.ok() && ta->has_value());
  std::this_thread::sleep_for(300ms);
  auto tb = b->claim("img", 10s);
  ASSERT_TRUE(tb.ok() && tb->has_value()) << "an expired lease is free";
  ASSERT_TRUE(a->release("img", **ta).ok());
  auto again = a->claim("img", 10s);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value()) << "the old holder's release must leave the new lease alone";
}

TEST(SharedCacheTest, StoppedRedisIsUnavailableQuicklyAndReconnectsWhenBack) {
  testing::RedisServer redis;
  auto cache = open_cache(redis.url());
  ASSERT_NE(cache, nullptr);
  ASSERT_TRUE(cache->put("k", "v", 60s).ok());
  redis.stop();
  const auto start = Clock::now();
  auto got = cache->get("k");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, ErrorCode::unavailable);
  EXPECT_NE(got.error().message.find("shared cache (redis)"), std::string::npos) << got.error().message;
  EXPECT_FALSE(cache->put("k", "v", 60s).ok());
  EXPECT_FALSE(cache->claim("k", 1s).ok());
  EXPECT_FALSE(cache->release("k", "t").ok());
  EXPECT_LT(Clock::now() - start, 3s);
  redis.start();
  ASSERT_TRUE(redis.running());
  wait_past_backoff();
  ASSERT_TRUE(cache->put("k", "again", 60s).ok());
  auto back = cache->get("k");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->value_or(""), "again");
}

TEST(SharedCacheTest, FrozenRedisTimesOutInsteadOfHanging) {
  const int port = testing::free_port();
  testing::Process redis({"redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no"});
  ASSERT_TRUE(testing::wait_for_port(port));
  auto cache = open_cache("redis://127.0.0.1:" + std::to_string(port));
  ASSERT_NE(cache, nullptr);
  ASSERT_TRUE(cache->put("k", "v", 60s).ok());
  ::kill(redis.pid(), SIGSTOP);  // accepts nothing, answers nothing: a hung Redis
  const auto start = Clock::now();
  auto got = cache->get("k");
  const auto took = Clock::now() - start;
  ::kill(redis.pid(), SIGCONT);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, ErrorCode::unavailable);
  EXPECT_GE(took, 1500ms);
  EXPECT_LT(took, 4s);
  wait_past_backoff();
  auto back = cache->get("k");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->value_or(""), "v");
}

TEST(SharedCacheTest, OpeningAnUnreachableRedisFails) {
  const int port = testing::free_port();
  auto c = open_redis_shared_cache("redis://127.0.0.1:" + std::to_string(port));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::unavailable);
  EXPECT_NE(c.error().message.find(std::to_string(port)), std::string::npos) << c.error().message;
  for (const char* bad : {"redis://", "redis://host:0", "redis://host:99999", "redis://host:1/16", "redis://h:x",
                          "http://host:6379"}) {
    auto b = open_redis_shared_cache(bad);
    ASSERT_FALSE(b.ok()) << bad;
    EXPECT_EQ(b.error().code, ErrorCode::invalid_argument) << bad;
  }
}

// Runs coroutines on one io_context in the test thread until all are done.
class LookupTest : public ::testing::Test {
 protected:
  template <class F>
  void spawn(F f) {
    asio::co_spawn(io_, std::move(f), asio::detached);
  }
  asio::awaitable<void> sleep(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
  }
  void run() { io_.run(); }

  testing::RedisServer redis_;
  asio::io_context io_;
};

TEST_F(LookupTest, SecondAcquirerWaitsAndGetsTheFirstsValue) {
  SharedLookup a(open_cache(redis_.url()));
  SharedLookup b(open_cache(redis_.url()));
  std::optional<SharedLookup::Claim> first, second;
  Clock::time_point published{}, received{};
  spawn([&]() -> asio::awaitable<void> {
    first = co_await a.acquire("img", 5s, 5s);
    co_await sleep(300ms);
    published = Clock::now();
    co_await a.publish("img", "the answer", 10s, first->token);
  });
  spawn([&]() -> asio::awaitable<void> {
    co_await sleep(50ms);
    second = co_await b.acquire("img", 5s, 5s);
    received = Clock::now();
  });
  run();
  ASSERT_TRUE(first && second);
  EXPECT_FALSE(first->value.has_value());
  EXPECT_FALSE(first->token.empty());
  ASSERT_TRUE(second->value.has_value());
  EXPECT_EQ(*second->value, "the answer");
  EXPECT_TRUE(second->token.empty());
  EXPECT_GE(received, published);
  EXPECT_EQ(a.stats().misses, 1U);
  EXPECT_EQ(b.stats().hits, 1U);
  EXPECT_EQ(b.stats().waited, 1U);
  EXPECT_EQ(b.stats().misses, 0U);
  // The lease ended with the publication: a third acquirer gets the value at once, without waiting.
  std::optional<SharedLookup::Claim> third;
  spawn([&]() -> asio::awaitable<void> { third = co_await b.acquire("img", 5s, 5s); });
  io_.restart();
  run();
  ASSERT_TRUE(third && third->value);
  EXPECT_EQ(b.stats().waited, 1U);
  EXPECT_EQ(b.stats().hits, 2U);
}

TEST_F(LookupTest, HolderAbandonsAndTheWaiterTakesOver) {
  SharedLookup a(open_cache(redis_.url()));
  SharedLookup b(open_cache(redis_.url()));
  std::optional<SharedLookup::Claim> first, second;
  spawn([&]() -> asio::awaitable<void> {
    first = co_await a.acquire("img", 5s, 5s);
    co_await sleep(200ms);
    co_await a.abandon("img", first->token);
  });
  spawn([&]() -> asio::awaitable<void> {
    co_await sleep(50ms);
    second = co_await b.acquire("img", 5s, 5s);
  });
  const auto start = Clock::now();
  run();
  ASSERT_TRUE(first && second);
  EXPECT_FALSE(second->value.has_value());
  EXPECT_FALSE(second->token.empty()) << "the waiter holds the lease once the holder gave it up";
  EXPECT_NE(second->token, first->token);
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_EQ(b.stats().waited, 1U);
  EXPECT_EQ(b.stats().misses, 1U);
}

TEST_F(LookupTest, WaitEndsWithoutALeaseWhenTheHolderTakesTooLong) {
  SharedLookup a(open_cache(redis_.url()));
  SharedLookup b(open_cache(redis_.url()));
  std::optional<SharedLookup::Claim> first, second;
  spawn([&]() -> asio::awaitable<void> { first = co_await a.acquire("img", 10s, 1s); });
  spawn([&]() -> asio::awaitable<void> {
    co_await sleep(50ms);
    second = co_await b.acquire("img", 10s, 250ms);
  });
  const auto start = Clock::now();
  run();
  ASSERT_TRUE(first && second);
  EXPECT_FALSE(first->token.empty());
  EXPECT_FALSE(second->value.has_value());
  EXPECT_TRUE(second->token.empty()) << "compute without a lease";
  EXPECT_LT(Clock::now() - start, 1s);
  EXPECT_EQ(b.stats().waited, 1U);
  EXPECT_EQ(b.stats().misses, 1U);
}

TEST_F(LookupTest, RedisDownGivesAnEmptyClaimAtOnce) {
  SharedLookup a(open_cache(redis_.url()));
  redis_.stop();
  std::optional<SharedLookup::Claim> claim;
  spawn([&]() -> asio::awaitable<void> {
    claim = co_await a.acquire("img", 5s, 5s);
    co_await a.publish("img", "x", 1s, "");
  });
  const auto start = Clock::now();
  run();
  ASSERT_TRUE(claim);
  EXPECT_FALSE(claim->value.has_value());
  EXPECT_TRUE(claim->token.empty());
  EXPECT_LT(Clock::now() - start, 3s);
  EXPECT_EQ(a.stats().errors, 2U);
  EXPECT_EQ(a.stats().hits + a.stats().misses, 0U);
}

}  // namespace
}  // namespace imagegate::verifier
