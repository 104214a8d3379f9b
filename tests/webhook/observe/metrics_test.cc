// Metrics (webhook/observe/metrics.cc) and the decision log (webhook/observe/decision_log.cc): the Prometheus text format,
// histogram arithmetic, bounded label values, and whole lines under concurrency.
#include "webhook/observe/metrics.h"

#include <chrono>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <re2/re2.h>

#include "webhook/observe/decision_log.h"
#include "webhook/observe/process_metrics.h"

namespace imagegate::webhook {
namespace {

// Parses "name{labels} value" sample lines into a map; checks every line is a comment or a sample.
std::map<std::string, double> samples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  static const RE2 kSample(R"(([a-z_]+(?:\{[a-z_]+="[^"]*"(?:,[a-z_]+="[^"]*")*\})?) (\S+))");
  static const RE2 kComment(R"(# (HELP|TYPE) [a-z_]+ .+)");
  while (std::getline(in, line)) {
    std::string series;
    std::string value;
    if (RE2::FullMatch(line, kComment)) continue;
    EXPECT_TRUE(RE2::FullMatch(line, kSample, &series, &value)) << "not a sample line: " << line;
    out[series] = value == "+Inf" ? 1e308 : std::stod(value);
  }
  return out;
}

TEST(Metrics, FreshRenderHasHelpTypeAndZeroes) {
  Metrics metrics;
  const std::string text = metrics.render();
  for (const std::string name : {"imagegate_admission_reviews_total", "imagegate_admission_review_duration_seconds",
                                 "imagegate_admission_stage_duration_seconds", "imagegate_admission_reviews_in_flight",
                                 "imagegate_policy_reloads_total", "imagegate_policy_loaded",
                                 "imagegate_tls_reloads_total", "imagegate_http_requests_total"}) {
    EXPECT_NE(text.find("# HELP " + name + " "), std::string::npos) << name;
    EXPECT_NE(text.find("# TYPE " + name + " "), std::string::npos) << name;
  }
  EXPECT_NE(text.find("# TYPE imagegate_admission_review_duration_seconds histogram"), std::string::npos);
  EXPECT_NE(text.find("# TYPE imagegate_admission_reviews_total counter"), std::string::npos);
  EXPECT_NE(text.find("# TYPE imagegate_admission_reviews_in_flight gauge"), std::string::npos);
  const auto s = samples(text);
  EXPECT_EQ(s.at(R"(imagegate_admission_reviews_total{operation="CREATE",decision="denied"})"), 0);
  EXPECT_EQ(s.at(R"(imagegate_policy_loaded)"), 0);
  EXPECT_EQ(s.at(R"(imagegate_policy_reloads_total{result="failure"})"), 0);
  // 4x4 review counters, in-flight, reloads, loaded, tls, registry requests and cache lookups (6), verdicts
  // stored (2), inventory records (3), the process's four and the build info.
  EXPECT_EQ(s.size(), 16u + 1 + 2 + 1 + 2 + 6 + 2 + 3 + 4 + 1);
}

TEST(Metrics, CountsReviewsAndBuildsCumulativeHistograms) {
  Metrics metrics;
  metrics.observe_review("CREATE", "allowed", 0.0004);
  metrics.observe_review("CREATE", "allowed", 0.003);
  metrics.observe_review("CREATE", "denied", 0.2);
  metrics.observe_review("UPDATE", "warned", 30.0);  // beyond the last bucket
  const auto s = samples(metrics.render());
  EXPECT_EQ(s.at(R"(imagegate_admission_reviews_total{operation="CREATE",decision="allowed"})"), 2);
  EXPECT_EQ(s.at(R"(imagegate_admission_reviews_total{operation="CREATE",decision="denied"})"), 1);
  EXPECT_EQ(s.at(R"(imagegate_admission_reviews_total{operation="UPDATE",decision="warned"})"), 1);
  const std::string h = "imagegate_admission_review_duration_seconds";
  EXPECT_EQ(s.at(h + R"(_bucket{operation="CREATE",le="0.0005"})"), 1);
  EXPECT_EQ(s.at(h + R"(_bucket{operation="CREATE",le="0.001"})"), 1);
  EXPECT_EQ(s.at(h + R"(_bucket{operation="CREATE",le="0.005"})"), 2);
  EXPECT_EQ(s.at(h + R"(_bucket{operation="CREATE",le="0.25"})"), 3);
  EXPECT_EQ(s.at(h + R"(_bucket{operation="CREATE",le="10"})"), 3);
  EXPECT_EQ(s.at(h + R"(_bucket{operation="CREATE",le="+Inf"})"), 3);
  EXPECT_EQ(s.at(h + R"(_count{operation="CREATE"})"), 3);
  EXPECT_NEAR(s.at(h + R"(_sum{operation="CREATE"})"), 0.2034, 1e-9);
  EXPECT_EQ(s.at(h + R"(_bucket{operation="UPDATE",le="10"})"), 0);
  EXPECT_EQ(s.at(h + R"(_bucket{operation="UPDATE",le="+Inf"})"), 1);
  // Buckets are non-decreasing in `le` order as rendered.
  const std::string text = metrics.render();
  std::istringstream in(text);
  std::string line;
  double previous = -1;
  while (std::getline(in, line)) {
    if (line.rfind(h + "_bucket{operation=\"CREATE\"", 0) != 0) continue;
    const double value = std::stod(line.substr(line.rfind(' ') + 1));
    EXPECT_GE(value, previous) << line;
    previous = value;
  }
}

TEST(Metrics, LabelValuesComeFromFixedSets) {
  Metrics metrics;
  metrics.observe_review("PATCH\"}\n evil", "allowed\"", 0.1);
  metrics.observe_stage("registry.example/image:tag", 0.1);
  metrics.observe_stage("cosign", 0.1);
  metrics.http_response(404);
  metrics.http_response(99999);
  const std::string text = metrics.render();
  EXPECT_EQ(text.find("evil"), std::string::npos);
  EXPECT_EQ(text.find("registry.example"), std::string::npos);
  const auto s = samples(text);  // also checks every line is well-formed
  EXPECT_EQ(s.at(R"(imagegate_admission_reviews_total{operation="other",decision="other"})"), 1);
  EXPECT_EQ(s.at(R"(imagegate_admission_stage_duration_seconds_count{stage="other"})"), 1);
  EXPECT_EQ(s.at(R"(imagegate_admission_stage_duration_seconds_count{stage="cosign"})"), 1);
  EXPECT_EQ(s.at(R"(imagegate_http_requests_total{code="404"})"), 1);
  EXPECT_EQ(s.at(R"(imagegate_http_requests_total{code="other"})"), 1);
}

TEST(Metrics, GaugesAndReloads) {
  Metrics metrics;
  metrics.add_in_flight(3);
  metrics.add_in_flight(-1);
  metrics.policy_reload(false);
  auto s = samples(metrics.render());
  EXPECT_EQ(s.at("imagegate_admission_reviews_in_flight"), 2);
  EXPECT_EQ(s.at("imagegate_policy_loaded"), 0);
  metrics.policy_reload(true);
  metrics.policy_reload(false);  // a rejected reload keeps the loaded policy
  metrics.tls_reload(true);
  s = samples(metrics.render());
  EXPECT_EQ(s.at("imagegate_policy_loaded"), 1);
  EXPECT_EQ(s.at(R"(imagegate_policy_reloads_total{result="success"})"), 1);
  EXPECT_EQ(s.at(R"(imagegate_policy_reloads_total{result="failure"})"), 2);
  EXPECT_EQ(s.at(R"(imagegate_tls_reloads_total{result="success"})"), 1);
}

TEST(Metrics, ConcurrentRecordingLosesNothing) {
  Metrics metrics;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        metrics.observe_review("CREATE", "allowed", 0.001);
        if (i % 100 == 0) (void)metrics.render();
      }
    });
  }
  for (auto& t : threads) t.join();
  const auto s = samples(metrics.render());
  EXPECT_EQ(s.at(R"(imagegate_admission_reviews_total{operation="CREATE",decision="allowed"})"), 4000);
  EXPECT_EQ(s.at(R"(imagegate_admission_review_duration_seconds_count{operation="CREATE"})"), 4000);
}

TEST(DecisionLog, WritesWholeLinesUnderConcurrency) {
  std::ostringstream out;
  DecisionLog log(out);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) log.write(nlohmann::json{{"thread", t}, {"i", i}, {"pad", std::string(200, 'x')}}.dump());
    });
  }
  for (auto& t : threads) t.join();
  std::istringstream in(out.str());
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    const auto parsed = nlohmann::json::parse(line);  // throws (fails the test) on an interleaved line
    EXPECT_TRUE(parsed.contains("thread"));
    ++lines;
  }
  EXPECT_EQ(lines, 800);
}

TEST(Metrics, ProcessSeriesComeFromProc) {
  Metrics metrics;
  const auto before = std::chrono::system_clock::now();
  const auto series = samples(metrics.render());
  ASSERT_TRUE(series.contains("process_cpu_seconds_total"));
  EXPECT_GE(series.at("process_cpu_seconds_total"), 0.0);
  // This test process: some resident memory, a few descriptors (stdin/out/err at least), started today.
  EXPECT_GT(series.at("process_resident_memory_bytes"), 1024.0 * 1024);
  EXPECT_GE(series.at("process_open_fds"), 3.0);
  const double start = series.at("process_start_time_seconds");
  const double now = std::chrono::duration<double>(before.time_since_epoch()).count();
  EXPECT_LE(start, now + 1);
  EXPECT_GT(start, now - 24 * 3600);
  EXPECT_EQ(series.at("imagegate_build_info{version=\"" IMAGEGATE_VERSION "\"}"), 1.0);
  // Open one more descriptor: the count follows at the next scrape.
  const double fds = series.at("process_open_fds");
  FILE* extra = std::fopen("/proc/self/stat", "r");
  ASSERT_NE(extra, nullptr);
  EXPECT_EQ(samples(metrics.render()).at("process_open_fds"), fds + 1);
  std::fclose(extra);
}

TEST(Metrics, ProcessStatsReadThisProcess) {
  const ProcessStats stats = read_process_stats();
  ASSERT_TRUE(stats.cpu_seconds && stats.resident_bytes && stats.open_fds && stats.start_time_seconds);
  std::string out;
  render_process_metrics(out, ProcessStats{}, "1.2.3");
  // Nothing read, nothing rendered but the build info (a missing value is absent, never 0).
  EXPECT_EQ(out.find("process_"), std::string::npos) << out;
  EXPECT_NE(out.find("imagegate_build_info{version=\"1.2.3\"} 1\n"), std::string::npos) << out;
  EXPECT_EQ(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

TEST(Metrics, ExpiryGauges) {
  Metrics metrics;
  std::string text = metrics.render();
  // Nothing loaded yet: no series (an absent gauge, not a 0 that would read as "expired in 1970").
  EXPECT_EQ(text.find("imagegate_tls_certificate_expiry_seconds"), std::string::npos);
  EXPECT_EQ(text.find("imagegate_trust_material_expiry_seconds"), std::string::npos);

  using std::chrono::seconds;
  metrics.set_tls_certificate_expiry(std::chrono::system_clock::time_point(seconds(1'900'000'000)));
  std::vector<Metrics::TrustExpiry> anchors{
      {"notary", "certificate", std::chrono::system_clock::time_point(seconds(2'000'000'000))},
      {"keyless", "trusted_root", std::chrono::system_clock::time_point(seconds(1'800'000'000))},
  };
  metrics.set_trust_expiry_source([&anchors] { return anchors; });
  auto series = samples(metrics.render());
  EXPECT_EQ(series.at("imagegate_tls_certificate_expiry_seconds"), 1'900'000'000);
  EXPECT_EQ(series.at(R"(imagegate_trust_material_expiry_seconds{anchor="keyless",kind="trusted_root"})"), 1'800'000'000);
  EXPECT_EQ(series.at(R"(imagegate_trust_material_expiry_seconds{anchor="notary",kind="certificate"})"), 2'000'000'000);
  // Read at each scrape: a rotated root shows at once; an anchor gone is gone.
  anchors = {{"notary", "certificate", std::chrono::system_clock::time_point(seconds(2'100'000'000))}};
  series = samples(metrics.render());
  EXPECT_EQ(series.at(R"(imagegate_trust_material_expiry_seconds{anchor="notary",kind="certificate"})"), 2'100'000'000);
  EXPECT_FALSE(series.contains(R"(imagegate_trust_material_expiry_seconds{anchor="keyless",kind="trusted_root"})"));
  // A policy's anchor name is escaped, never breaks the exposition.
  anchors = {{"we\"ird\\name", "certificate", std::chrono::system_clock::time_point(seconds(1))}};
  EXPECT_NE(metrics.render().find(R"(imagegate_trust_material_expiry_seconds{anchor="we\"ird\\name",kind="certificate"} 1)"),
            std::string::npos);
}

}  // namespace
}  // namespace imagegate::webhook
