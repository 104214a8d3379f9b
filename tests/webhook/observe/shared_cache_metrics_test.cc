// Tests the shared-cache series of webhook/observe/metrics.cc: absent without a source, the counts of every source
// summed at each scrape (read anew each time, not cached).
#include <gtest/gtest.h>

#include <atomic>
#include <string>

#include "webhook/observe/metrics.h"

namespace imagegate::webhook {
namespace {

TEST(SharedCacheMetrics, AbsentWithoutASource) {
  Metrics m;
  EXPECT_EQ(m.render().find("imagegate_shared_cache_total"), std::string::npos);
}

TEST(SharedCacheMetrics, SourcesSummedAtEachScrape) {
  Metrics m;
  std::atomic<std::uint64_t> hits{1};
  m.add_shared_cache_source([&hits] { return Metrics::SharedCacheCounts{hits.load(), 2, 3, 4}; });
  m.add_shared_cache_source([] { return Metrics::SharedCacheCounts{10, 20, 30, 40}; });
  m.add_shared_cache_source({});  // an empty source is ignored
  std::string out = m.render();
  EXPECT_NE(out.find("# TYPE imagegate_shared_cache_total counter\n"), std::string::npos) << out;
  EXPECT_NE(out.find("imagegate_shared_cache_total{result=\"hit\"} 11\n"), std::string::npos) << out;
  EXPECT_NE(out.find("imagegate_shared_cache_total{result=\"miss\"} 22\n"), std::string::npos) << out;
  EXPECT_NE(out.find("imagegate_shared_cache_total{result=\"waited\"} 33\n"), std::string::npos) << out;
  EXPECT_NE(out.find("imagegate_shared_cache_total{result=\"error\"} 44\n"), std::string::npos) << out;
  hits = 5;
  out = m.render();
  EXPECT_NE(out.find("imagegate_shared_cache_total{result=\"hit\"} 15\n"), std::string::npos) << out;
}

}  // namespace
}  // namespace imagegate::webhook
