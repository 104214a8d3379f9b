// Metrics (webhook/observe/metrics.cc) and the decision log (webhook/observe/decision_log.cc): the Prometheus text format,
// histogram arithmetic, bounded label values, and whole lines under concurrency.
#include "webhook/observe/metrics.h"

#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <re2/re2.h>

#include "webhook/observe/decision_log.h"

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
  // stored (2), inventory records (3).
  EXPECT_EQ(s.size(), 16u + 1 + 2 + 1 + 2 + 6 + 2 + 3);
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

}  // namespace
}  // namespace imagegate::webhook
