// bench/metrics.sh: the per-review metrics cost of imagegate's hand-written exposition
// (webhook/observe/metrics.cc: Metrics::observe_review, lock-free atomics, series found by index) against
// Debian's prometheus-cpp 1.0.1 (Family<Counter> + Family<Histogram> with the same labels and buckets),
// from N threads at once, and the cost of one scrape (render / TextSerializer) with the same series.
// prometheus-cpp is measured two ways: series references looked up once and kept (its best case), and
// looked up per observation through Family::Add (what label values known only per review need).
//
// Usage: metrics_bench [threads (default 2)] [observations per thread (default 2000000)]
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "webhook/observe/metrics.h"

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::array<const char*, 4> kOperations = {"CREATE", "UPDATE", "DELETE", "CONNECT"};
constexpr std::array<const char*, 4> kDecisions = {"allowed", "warned", "denied", "error"};

// ns per observation, all threads together (wall time / total observations), and per thread.
template <typename Observe>
double run(unsigned threads, long per_thread, Observe observe) {
  std::vector<std::thread> workers;
  const auto start = Clock::now();
  for (unsigned t = 0; t < threads; ++t) {
    workers.emplace_back([&observe, per_thread, t] {
      for (long i = 0; i < per_thread; ++i) {
        observe(kOperations[i & 3], kDecisions[(i >> 2) & 3], 0.0001 * static_cast<double>((i + t) % 97));
      }
    });
  }
  for (auto& w : workers) w.join();
  const double ns = std::chrono::duration<double, std::nano>(Clock::now() - start).count();
  return ns / static_cast<double>(per_thread);  // per observation as each thread sees it
}

}  // namespace

int main(int argc, char** argv) {
  const unsigned threads = argc > 1 ? static_cast<unsigned>(std::atoi(argv[1])) : 2;
  const long per_thread = argc > 2 ? std::atol(argv[2]) : 2'000'000;
  const prometheus::Histogram::BucketBoundaries buckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                           0.1,    0.25,  0.5,    1.0,   2.5,   5.0,  10.0};

  imagegate::webhook::Metrics ours;
  const double ours_ns = run(threads, per_thread, [&ours](const char* op, const char* decision, double s) {
    ours.observe_review(op, decision, s);
  });

  auto registry = std::make_shared<prometheus::Registry>();
  auto& reviews = prometheus::BuildCounter().Name("imagegate_admission_reviews_total").Register(*registry);
  auto& durations =
      prometheus::BuildHistogram().Name("imagegate_admission_review_duration_seconds").Register(*registry);
  // Best case: every series looked up once, kept by index.
  std::array<std::array<prometheus::Counter*, 4>, 4> counters{};
  std::array<prometheus::Histogram*, 4> histograms{};
  for (std::size_t o = 0; o < 4; ++o) {
    histograms[o] = &durations.Add({{"operation", kOperations[o]}}, buckets);
    for (std::size_t d = 0; d < 4; ++d) {
      counters[o][d] = &reviews.Add({{"operation", kOperations[o]}, {"decision", kDecisions[d]}});
    }
  }
  const double cached_ns = run(threads, per_thread, [&](const char* op, const char* decision, double s) {
    std::size_t o = 0;
    while (std::string_view(kOperations[o]) != op) ++o;
    std::size_t d = 0;
    while (std::string_view(kDecisions[d]) != decision) ++d;
    counters[o][d]->Increment();
    histograms[o]->Observe(s);
  });
  const double lookup_ns = run(threads, per_thread / 4, [&](const char* op, const char* decision, double s) {
    reviews.Add({{"operation", op}, {"decision", decision}}).Increment();
    durations.Add({{"operation", op}}, buckets).Observe(s);
  });

  // One scrape each (the same 16 counters and 4 histograms, ours with its other series too).
  constexpr int kScrapes = 2000;
  auto start = Clock::now();
  std::size_t bytes = 0;
  for (int i = 0; i < kScrapes; ++i) bytes += ours.render().size();
  const double ours_render_us = std::chrono::duration<double, std::micro>(Clock::now() - start).count() / kScrapes;
  start = Clock::now();
  std::size_t their_bytes = 0;
  const prometheus::TextSerializer serializer;
  for (int i = 0; i < kScrapes; ++i) their_bytes += serializer.Serialize(registry->Collect()).size();
  const double their_render_us = std::chrono::duration<double, std::micro>(Clock::now() - start).count() / kScrapes;

  std::printf("| per review (%u threads at once) | ns per observation per thread | ratio to imagegate |\n", threads);
  std::printf("| --- | ---: | ---: |\n");
  std::printf("| imagegate Metrics::observe_review | %.1f | 1.00 |\n", ours_ns);
  std::printf("| prometheus-cpp, series kept | %.1f | %.2f |\n", cached_ns, cached_ns / ours_ns);
  std::printf("| prometheus-cpp, Family::Add per review | %.1f | %.2f |\n", lookup_ns, lookup_ns / ours_ns);
  std::printf("\n| one scrape | us | bytes |\n| --- | ---: | ---: |\n");
  std::printf("| imagegate Metrics::render (every series, /proc included) | %.1f | %zu |\n", ours_render_us,
              bytes / kScrapes);
  std::printf("| prometheus-cpp TextSerializer (reviews only) | %.1f | %zu |\n", their_render_us,
              their_bytes / kScrapes);
  return 0;
}
