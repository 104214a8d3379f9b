// Differential fuzzing of the AdmissionReview decoder: the same bytes through the one-pass decoder
// (decode_admission_review, webhook/admission/json_stream.h) and through the nlohmann DOM decoder it
// replaced (tests/webhook/admission/review_dom_oracle.h). Both must give the same AdmissionRequest and
// Workload, or both refuse with the same Error (code and message); any difference aborts with both
// results printed. Seeds: tests/fuzz/corpus/review_differential_fuzz/ (hand-made; the conformance samples
// are read in place by review_differential_test.cc).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "tests/webhook/admission/review_dom_oracle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (const auto difference = imagegate::webhook::differential(text)) {
    std::fprintf(stderr, "decoders differ: %s\n", difference->c_str());
    std::abort();
  }
  return 0;
}
