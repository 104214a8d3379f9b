// Tests verifier/registry/caching_registry_client.cc: the local cache and its single flight, and tag resolutions
// shared between replicas through a real redis-server (two CachingRegistryClients, each with its own
// SharedLookup and connection, as two imagegate processes). The inner RegistryClient is a counting test
// double: what is checked is how often the caches ask it, and the registry itself is exercised by
// oci_registry_client_test and the e2e shared_cache_test.
#include "verifier/registry/caching_registry_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "tests/test_support.h"
#include "verifier/crypto/crypto.h"

namespace imagegate::verifier {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

const std::string kDigest = "sha256:" + std::string(64, 'a');

ImageReference image_ref(const std::string& text) {
  auto r = ImageReference::from_container_image(text);
  if (!r) throw std::runtime_error("bad reference in test: " + text);
  return *r;
}

// Answers every resolve after `delay` with `answer`, counting the calls (shared between replicas' doubles,
// so a test sees the registry round trips of all of them).
class CountingRegistry final : public RegistryClient {
 public:
  CountingRegistry(std::atomic<int>& calls, std::chrono::milliseconds delay) : calls_(calls), delay_(delay) {}
  void answer(Result<ResolvedImage> a) { answer_ = std::move(a); }

  asio::awaitable<Result<ResolvedImage>> resolve(const ImageReference&, ResolveOptions) override {
    ++calls_;
    asio::steady_timer t(co_await asio::this_coro::executor, delay_);
    co_await t.async_wait(asio::use_awaitable);
    co_return answer_;
  }
  asio::awaitable<Result<std::string>> fetch_blob(const ImageReference&, std::string, std::size_t) override {
    co_return Error{ErrorCode::internal, "not used"};
  }
  asio::awaitable<Result<FetchedManifest>> fetch_manifest(const ImageReference&) override {
    co_return Error{ErrorCode::internal, "not used"};
  }
  asio::awaitable<Result<FetchedManifest>> fetch_referrers(const ImageReference&, std::string) override {
    co_return Error{ErrorCode::internal, "not used"};
  }

 private:
  std::atomic<int>& calls_;
  std::chrono::milliseconds delay_;
  Result<ResolvedImage> answer_ = [] {
    ResolvedImage r;
    r.digest = kDigest;
    r.media_type = "application/vnd.oci.image.index.v1+json";
    r.platforms = {"linux/amd64", "linux/arm64"};
    r.size = 1234;
    return r;
  }();
};

std::string credentials(const ImageReference&) { return "anonymous"; }

// One imagegate replica: its registry double, its Redis connection and lookup, its cache.
struct Replica {
  Replica(std::atomic<int>& calls, const std::string& redis_url, CacheOptions options = {},
          std::chrono::milliseconds delay = 200ms)
      : registry(calls, delay) {
    if (!redis_url.empty()) {
      auto c = open_redis_shared_cache(redis_url);
      if (!c) throw std::runtime_error(c.error().message);
      lookup = std::make_shared<SharedLookup>(std::shared_ptr<SharedCache>(std::move(c).value()));
    }
    cache = std::make_unique<CachingRegistryClient>(registry, options, credentials, lookup);
  }
  CountingRegistry registry;
  std::shared_ptr<SharedLookup> lookup;
  std::unique_ptr<CachingRegistryClient> cache;
};

class CachingRegistryClientTest : public ::testing::Test {
 protected:
  // Resolves `ref` once per client in `clients`, all at once, on an io_context run by two threads.
  std::vector<Result<ResolvedImage>> resolve_all(const std::vector<CachingRegistryClient*>& clients,
                                                 const std::string& ref) {
    asio::io_context io;
    std::vector<std::optional<Result<ResolvedImage>>> out(clients.size());
    const ImageReference image = image_ref(ref);
    for (std::size_t i = 0; i < clients.size(); ++i) {
      asio::co_spawn(
          io, [&, i]() -> asio::awaitable<void> { out[i].emplace(co_await clients[i]->resolve(image)); },
          asio::detached);
    }
    std::thread second([&io] { io.run(); });
    io.run();
    second.join();
    std::vector<Result<ResolvedImage>> results;
    for (auto& r : out) {
      if (!r) throw std::runtime_error("a resolution did not finish");
      results.push_back(std::move(*r));
    }
    return results;
  }
  Result<ResolvedImage> resolve_one(CachingRegistryClient& c, const std::string& ref) {
    return resolve_all({&c}, ref)[0];
  }
  // The Redis key a replica uses for `ref` (what CachingRegistryClient computes: never the credentials).
  static std::string shared_key(const std::string& ref) {
    return "registry:resolve:" + sha256_hex(image_ref(ref).string() + "|anonymous");
  }

  std::atomic<int> calls_{0};
};

TEST_F(CachingRegistryClientTest, SingleFlightWithoutRedis) {
  Replica one(calls_, "");
  auto results = resolve_all({one.cache.get(), one.cache.get(), one.cache.get(), one.cache.get()},
                             "registry.example/team/app:v1");
  EXPECT_EQ(calls_.load(), 1);
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->digest, kDigest);
  }
  const auto s = one.cache->stats();
  EXPECT_EQ(s.misses, 1U);
  EXPECT_EQ(s.shared + s.hits, 3U);
  // A fresh answer afterwards is a hit, from the cache.
  auto again = resolve_one(*one.cache, "registry.example/team/app:v1");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->from_cache);
  EXPECT_EQ(calls_.load(), 1);
}

TEST_F(CachingRegistryClientTest, TwoReplicasResolvingConcurrentlyMakeOneRegistryCall) {
  testing::RedisServer redis;
  Replica a(calls_, redis.url());
  Replica b(calls_, redis.url());
  std::vector<CachingRegistryClient*> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(a.cache.get());
    clients.push_back(b.cache.get());
  }
  auto results = resolve_all(clients, "registry.example/team/app:v1");
  EXPECT_EQ(calls_.load(), 1) << "one registry round trip for both replicas";
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->digest, kDigest);
    EXPECT_EQ(r->platforms, (std::vector<std::string>{"linux/amd64", "linux/arm64"}));
    EXPECT_EQ(r->media_type, "application/vnd.oci.image.index.v1+json");
    EXPECT_EQ(r->size, 1234U);
  }
  // One replica asked the registry; the other waited on its lease and took its answer.
  const auto sa = a.lookup->stats();
  const auto sb = b.lookup->stats();
  EXPECT_EQ(sa.misses + sb.misses, 1U);
  EXPECT_EQ(sa.hits + sb.hits, 1U);
  EXPECT_EQ(sa.waited + sb.waited, 1U);
  EXPECT_EQ(sa.errors + sb.errors, 0U);
  // And again: local hits on both, no more round trips.
  results = resolve_all(clients, "registry.example/team/app:v1");
  EXPECT_EQ(calls_.load(), 1);
  // A third replica started later takes the shared answer without asking.
  Replica c(calls_, redis.url());
  auto late = resolve_one(*c.cache, "registry.example/team/app:v1");
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(late->digest, kDigest);
  EXPECT_TRUE(late->from_cache);
  EXPECT_EQ(calls_.load(), 1);
  EXPECT_EQ(c.lookup->stats().hits, 1U);
}

TEST_F(CachingRegistryClientTest, NotFoundIsSharedUnavailableIsNot) {
  testing::RedisServer redis;
  Replica a(calls_, redis.url());
  Replica b(calls_, redis.url());
  a.registry.answer(not_found("manifest unknown"));
  auto first = resolve_one(*a.cache, "registry.example/team/gone:v1");
  ASSERT_FALSE(first.ok());
  auto second = resolve_one(*b.cache, "registry.example/team/gone:v1");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::not_found);
  EXPECT_EQ(second.error().message, "manifest unknown");
  EXPECT_EQ(calls_.load(), 1);

  a.registry.answer(Error{ErrorCode::unavailable, "registry said 503"});
  b.registry.answer(Error{ErrorCode::unavailable, "registry said 503"});
  auto down_a = resolve_one(*a.cache, "registry.example/team/flaky:v1");
  ASSERT_FALSE(down_a.ok());
  EXPECT_EQ(down_a.error().code, ErrorCode::unavailable);
  // The lease was abandoned: b asks at once instead of waiting out shared_wait.
  const auto start = std::chrono::steady_clock::now();
  auto down_b = resolve_one(*b.cache, "registry.example/team/flaky:v1");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  ASSERT_FALSE(down_b.ok());
  EXPECT_EQ(calls_.load(), 3);
}

TEST_F(CachingRegistryClientTest, LocalTtlDoesNotOutliveTheSharedExpiry) {
  testing::RedisServer redis;
  auto writer = open_redis_shared_cache(redis.url());
  ASSERT_TRUE(writer.ok());
  const std::string ref = "registry.example/team/app:v2";
  const auto expires = std::chrono::duration_cast<std::chrono::milliseconds>(
                           (std::chrono::system_clock::now() + 400ms).time_since_epoch())
                           .count();
  const std::string other = "sha256:" + std::string(64, 'b');
  ASSERT_TRUE((*writer)
                  ->put(shared_key(ref),
                        R"({"digest":")" + other + R"(","mediaType":"","platforms":[],"size":7,"expiresAt":)" +
                            std::to_string(expires) + "}",
                        10s)
                  .ok());
  Replica a(calls_, redis.url());  // tag_ttl 60 s
  auto first = resolve_one(*a.cache, ref);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->digest, other) << "another replica's answer";
  EXPECT_EQ(calls_.load(), 0);
  std::this_thread::sleep_for(600ms);
  auto second = resolve_one(*a.cache, ref);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->digest, kDigest) << "the shared answer expired, so did the local copy";
  EXPECT_EQ(calls_.load(), 1);
}

TEST_F(CachingRegistryClientTest, UnparsableSharedValuesAreMisses) {
  testing::RedisServer redis;
  auto writer = open_redis_shared_cache(redis.url());
  ASSERT_TRUE(writer.ok());
  const auto later = std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        (std::chrono::system_clock::now() + 60s).time_since_epoch())
                                        .count());
  const std::vector<std::string> bad = {
      "not json",
      "[]",
      R"({"digest":"sha256:abc","mediaType":"","platforms":[],"size":1,"expiresAt":)" + later + "}",
      R"({"digest":"sha256:)" + std::string(64, 'A') + R"(","mediaType":"","platforms":[],"size":1,"expiresAt":)" +
          later + "}",
      R"({"digest":")" + kDigest + R"(","mediaType":"","platforms":[1],"size":1,"expiresAt":)" + later + "}",
      R"({"digest":")" + kDigest + R"(","mediaType":"","platforms":[],"size":-1,"expiresAt":)" + later + "}",
      R"({"digest":")" + kDigest + R"(","mediaType":"","platforms":[],"size":1})",
      R"({"notFound":5,"expiresAt":)" + later + "}",
      R"({"digest":")" + kDigest + R"(","mediaType":"","platforms":[],"size":1,"expiresAt":1000})",
  };
  Replica a(calls_, redis.url());
  int expected_calls = 0;
  for (std::size_t i = 0; i < bad.size(); ++i) {
    const std::string ref = "registry.example/team/app:bad" + std::to_string(i);
    ASSERT_TRUE((*writer)->put(shared_key(ref), bad[i], 10s).ok());
    auto r = resolve_one(*a.cache, ref);
    ASSERT_TRUE(r.ok()) << bad[i];
    EXPECT_EQ(r->digest, kDigest) << bad[i];
    EXPECT_EQ(calls_.load(), ++expected_calls) << "a bad value is a miss: " << bad[i];
    // ... and is replaced by the good answer.
    auto now_stored = (*writer)->get(shared_key(ref));
    ASSERT_TRUE(now_stored.ok() && now_stored->has_value());
    EXPECT_NE(**now_stored, bad[i]);
  }
}

TEST_F(CachingRegistryClientTest, RedisDownMeansAskingTheRegistry) {
  testing::RedisServer redis;
  Replica a(calls_, redis.url());
  Replica b(calls_, redis.url());
  redis.stop();
  auto ra = resolve_one(*a.cache, "registry.example/team/app:v1");
  auto rb = resolve_one(*b.cache, "registry.example/team/app:v1");
  ASSERT_TRUE(ra.ok() && rb.ok());
  EXPECT_EQ(calls_.load(), 2);
  EXPECT_GE(a.lookup->stats().errors, 1U);
}

}  // namespace
}  // namespace imagegate::verifier
