// Tests verifier/verdict/redis_verdict_store.cc against a real redis-server started on a free 127.0.0.1 port and
// stopped by PID: put/get/find, a second store (another process's connection) sees the writes, a stopped
// Redis makes calls `unavailable` (no crash, no hang), and the store reconnects when Redis is back.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "tests/test_support.h"
#include "verifier/verdict/verdict_store.h"

namespace imagegate::verifier {
namespace {

ScanVerdict verdict(char c, std::string image, int hours_ago) {
  ScanVerdict v;
  v.digest = "sha256:" + std::string(64, c);
  v.image = std::move(image);
  v.scanner = "grype";
  v.scanned_at = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) - std::chrono::hours(hours_ago);
  v.vulnerabilities.push_back({"CVE-1", Severity::critical, 9.8, "zlib", "1", ""});
  return v;
}

TEST(RedisStore, SharedStopAndReconnect) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.running()) << "redis-server not found";
  const std::string url = redis.url(2);
  auto a = open_verdict_store(url);
  ASSERT_TRUE(a.ok()) << a.error().message;
  auto b = open_verdict_store(url);  // another imagegate process
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE((*a)->put(verdict('a', "reg/app:1", 2)).ok());
  ASSERT_TRUE((*a)->put(verdict('b', "reg/app:1", 1)).ok());
  auto got = (*b)->get("sha256:" + std::string(64, 'a'));
  ASSERT_TRUE(got.ok() && got->has_value()) << (got.ok() ? "none" : got.error().message);
  EXPECT_EQ((**got).vulnerabilities.at(0).severity, Severity::critical);
  EXPECT_FALSE((*b)->get("sha256:" + std::string(64, 'z'))->has_value());
  auto found = (*b)->find_by_image("reg/app:1", 10);
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 2u);
  EXPECT_EQ(found->at(0).digest, "sha256:" + std::string(64, 'b'));  // newest scan first

  redis.stop();
  const auto start = std::chrono::steady_clock::now();
  auto down = (*b)->get("sha256:" + std::string(64, 'a'));
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().code, ErrorCode::unavailable);
  EXPECT_FALSE((*a)->put(verdict('c', "", 0)).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));

  redis.start();  // empty again (no persistence): reconnects and answers
  auto back = (*b)->get("sha256:" + std::string(64, 'a'));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_FALSE(back->has_value());
}

TEST(RedisStore, BadUrls) {
  EXPECT_EQ(open_verdict_store("redis://").error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(open_verdict_store("redis://h:99999").error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(open_verdict_store("redis://h:1/x").error().code, ErrorCode::invalid_argument);
  auto refused = open_verdict_store("redis://127.0.0.1:" + std::to_string(testing::free_port()));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::unavailable);
}

}  // namespace
}  // namespace imagegate::verifier
