#include "common/expiring_cache.h"

#include <gtest/gtest.h>

namespace imagegate {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::seconds;

TEST(ExpiringCache, FindsUntilExpiry) {
  ExpiringCache<int> cache(4);
  const auto t0 = Clock::now();
  cache.put("a", 1, t0 + seconds(10), t0);
  ASSERT_NE(cache.find("a", t0 + seconds(9)), nullptr);
  EXPECT_EQ(*cache.find("a", t0 + seconds(9)), 1);
  EXPECT_EQ(cache.find("a", t0 + seconds(10)), nullptr);  // expired: dropped
  EXPECT_EQ(cache.size(), 0U);
  EXPECT_EQ(cache.find("b", t0), nullptr);
}

TEST(ExpiringCache, ReplaceKeepsOneEntry) {
  ExpiringCache<int> cache(4);
  const auto t0 = Clock::now();
  cache.put("a", 1, t0 + seconds(1), t0);
  cache.put("a", 2, t0 + seconds(10), t0);
  EXPECT_EQ(cache.size(), 1U);
  EXPECT_EQ(*cache.find("a", t0 + seconds(5)), 2);
}

TEST(ExpiringCache, FullEvictsTheOldestNotEverything) {
  ExpiringCache<int> cache(100);
  const auto t0 = Clock::now();
  for (int i = 0; i < 100; ++i) cache.put("k" + std::to_string(i), i, t0 + seconds(60), t0);
  cache.put("new", -1, t0 + seconds(60), t0);
  EXPECT_EQ(cache.size(), 100U);
  EXPECT_EQ(cache.find("k0", t0), nullptr);  // the oldest went
  EXPECT_NE(cache.find("k1", t0), nullptr);
  EXPECT_NE(cache.find("k99", t0), nullptr);
  EXPECT_NE(cache.find("new", t0), nullptr);
}

TEST(ExpiringCache, FullDropsExpiredFirst) {
  ExpiringCache<int> cache(10);
  const auto t0 = Clock::now();
  cache.put("old", 0, t0 + seconds(60), t0);
  cache.put("short", 1, t0 + seconds(1), t0);
  for (int i = 0; i < 8; ++i) cache.put("k" + std::to_string(i), i, t0 + seconds(60), t0);
  cache.put("new", 2, t0 + seconds(60), t0 + seconds(2));  // "short" has expired by now
  EXPECT_EQ(cache.size(), 10U);
  EXPECT_NE(cache.find("old", t0 + seconds(2)), nullptr);  // kept: an expired entry made room instead
  EXPECT_EQ(cache.find("short", t0 + seconds(2)), nullptr);
}

TEST(ExpiringCache, StaysBoundedUnderAFloodOfKeys) {
  ExpiringCache<std::string> cache(1000);
  const auto t0 = Clock::now();
  for (int i = 0; i < 100'000; ++i) cache.put("sha256:" + std::to_string(i), "v", t0 + seconds(60), t0);
  EXPECT_EQ(cache.size(), 1000U);
  EXPECT_NE(cache.find("sha256:99999", t0), nullptr);
  EXPECT_EQ(cache.find("sha256:98999", t0), nullptr);
  cache.clear();
  EXPECT_EQ(cache.size(), 0U);
  cache.put("x", "y", t0 + seconds(1), t0);  // usable after clear
  EXPECT_EQ(cache.size(), 1U);
}

}  // namespace
}  // namespace imagegate
