// parse_review_timeout and review_budget (declared in webhook/admission/policy_admission_service.h): the
// API server's `?timeout=` on /validate and /mutate and the review budget derived from it. Apart from the
// service so the libFuzzer target (tests/fuzz/review_timeout_fuzz.cc) links them without the admission path.
#include <algorithm>
#include <chrono>
#include <optional>
#include <string_view>

#include "common/duration.h"
#include "webhook/admission/policy_admission_service.h"

namespace imagegate::webhook {

namespace {

using std::chrono::milliseconds;

// Below this a review could not even resolve a digest; a tiny `?timeout=` still gets this much.
constexpr milliseconds kMinBudget{100};

}  // namespace

// Parses the API server's `timeout` query parameter: a Go duration as time.Duration.String() writes it
// ("10s", "1m0s", "1.5s", "500ms"), or a bare number of seconds. Anything else -> nullopt (default budget).
// The grammar is common/duration.h's (a superset of Go's).
std::optional<milliseconds> parse_review_timeout(std::string_view target) {
  const auto query_start = target.find('?');
  if (query_start == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(query_start + 1);
  std::optional<std::string_view> value;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.substr(0, 8) == "timeout=") value = pair.substr(8);
  }
  if (!value || value->empty() || value->size() > 32) return std::nullopt;

  // common/duration.h's grammar, which is Go's (plus days), with a bare number as seconds; beyond a day
  // is a day (the budget is capped far below anyway).
  const std::optional<milliseconds> timeout =
      parse_duration(*value, DurationRules{.bare_number_is_seconds = true, .saturate = true});
  if (!timeout) return std::nullopt;
  return std::min(*timeout, milliseconds(86'400'000));
}

std::chrono::milliseconds review_budget(const AdmissionOptions& options, std::string_view target) {
  milliseconds budget = options.default_budget;
  if (const auto timeout = parse_review_timeout(target)) budget = *timeout - options.margin;
  return std::max(std::min(budget, options.max_budget), kMinBudget);
}

}  // namespace imagegate::webhook
