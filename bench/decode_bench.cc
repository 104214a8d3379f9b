// The decode stage alone: one AdmissionReview body decoded N times by each candidate, in one process.
// Prints ns and heap allocations per decode. Built by CMake with the tests (it links the DOM decoder kept
// as the test oracle), never installed. bench/decode.sh builds the benchmark's review and runs it.
//
// Usage: decode_bench REVIEW_JSON [iterations (default 20000)]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <new>
#include <sstream>
#include <string>

#include "common/json_bounded.h"
#include "common/json_check.h"
#include "tests/webhook/admission/review_dom_oracle.h"
#include "webhook/admission/admission_review.h"

namespace {

std::atomic<std::size_t> allocations{0};

template <class Decode>
void measure(const char* name, int iterations, Decode&& decode) {
  for (int i = 0; i < iterations / 10 + 1; ++i) decode();  // warm: caches, the thread's parser
  const std::size_t before = allocations.load();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) decode();
  const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
  std::printf("| %s | %.0f | %.1f |\n", name, ns / iterations,
              static_cast<double>(allocations.load() - before) / iterations);
}

}  // namespace

void* operator new(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: decode_bench REVIEW_JSON [iterations]\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string body = buffer.str();
  const int iterations = argc > 2 ? std::atoi(argv[2]) : 20000;
  using imagegate::webhook::decode_admission_review;
  using imagegate::webhook::decode_admission_review_dom;
  if (const auto d = imagegate::webhook::differential(body)) {
    std::fprintf(stderr, "the decoders differ on this review: %s\n", d->c_str());
    return 1;
  }
  const auto check = decode_admission_review(body);
  if (!check.ok() || !check->workload.ok()) {
    std::fprintf(stderr, "not a review with a workload\n");
    return 1;
  }
  std::printf("review: %zu bytes, %zu images; %d decodes each\n\n", body.size(), check->workload->images.size(),
              iterations);
  std::printf("| decoder | ns per decode | allocations per decode |\n|---|---|---|\n");
  std::size_t sink = 0;
  measure("nlohmann DOM (parse_json_bounded, then the checks): before", iterations,
          [&] { sink += decode_admission_review_dom(body)->uid.size(); });
  // check_json_bounded: the bounds pre-scan, then nlohmann's SAX parser with a handler that keeps nothing.
  measure("nlohmann SAX, every token read, nothing kept (floor of a SAX decoder)", iterations,
          [&] { sink += imagegate::check_json_bounded(body, imagegate::webhook::kReviewJsonLimits).ok() ? 1 : 0; });
  measure("simdjson On-Demand one pass, body copied to a padded buffer", iterations,
          [&] { sink += decode_admission_review(body)->uid.size(); });
  std::string padded = body;
  padded.reserve(body.size() + 64);
  measure("simdjson On-Demand one pass, read in place: now", iterations,
          [&] { sink += decode_admission_review(padded, padded.capacity() - padded.size())->uid.size(); });
  return sink == 0 ? 1 : 0;
}
