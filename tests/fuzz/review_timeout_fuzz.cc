// libFuzzer target for the API server's `?timeout=` on /validate and /mutate (webhook/admission/
// review_budget.cc): arbitrary bytes as the request target. A timeout, when one parses, is between 0 and a
// day; the review's budget is always within [100 ms, max_budget], whatever the target says.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "webhook/admission/policy_admission_service.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace imagegate::webhook;
  using std::chrono::milliseconds;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // As sent (a whole target) and behind the path the API server uses.
  const std::string prefixed = "/validate?timeout=" + std::string(bytes);
  for (const std::string_view target : {bytes, std::string_view(prefixed)}) {
    if (const auto timeout = parse_review_timeout(target)) {
      if (timeout->count() < 0 || *timeout > milliseconds(86'400'000)) std::abort();
    }
    const AdmissionOptions options;
    const milliseconds budget = review_budget(options, target);
    if (budget < milliseconds(100) || budget > options.max_budget) std::abort();
  }
  return 0;
}
