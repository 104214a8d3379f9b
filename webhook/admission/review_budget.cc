// parse_review_timeout and review_budget (declared in webhook/admission/policy_admission_service.h): the
// API server's `?timeout=` on /validate and /mutate and the review budget derived from it. Apart from the
// service so the libFuzzer target (tests/fuzz/review_timeout_fuzz.cc) links them without the admission path.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <string_view>

#include "webhook/admission/policy_admission_service.h"

namespace imagegate::webhook {

namespace {

using std::chrono::milliseconds;

// Below this a review could not even resolve a digest; a tiny `?timeout=` still gets this much.
constexpr milliseconds kMinBudget{100};

}  // namespace

// Parses the API server's `timeout` query parameter: a Go duration as time.Duration.String() writes it
// ("10s", "1m0s", "1.5s", "500ms"), or a bare number of seconds. Anything else -> nullopt (default budget).
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

  std::string_view text = *value;
  double total_ms = 0;
  bool any = false;
  while (!text.empty()) {
    // number: digits [ "." digits ]
    std::size_t i = 0;
    double number = 0;
    bool digits = false;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      number = number * 10 + (text[i] - '0');
      digits = true;
      ++i;
    }
    if (i < text.size() && text[i] == '.') {
      ++i;
      double scale = 0.1;
      while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        number += (text[i] - '0') * scale;
        scale /= 10;
        digits = true;
        ++i;
      }
    }
    if (!digits) return std::nullopt;
    text.remove_prefix(i);
    double unit_ms = 0;
    if (text.empty()) {
      if (any) return std::nullopt;  // "1m30" is not a duration
      unit_ms = 1000;                // a bare number: seconds
    } else if (text.starts_with("ms")) {
      unit_ms = 1, text.remove_prefix(2);
    } else if (text.starts_with("us")) {
      unit_ms = 0.001, text.remove_prefix(2);
    } else if (text.starts_with("\xC2\xB5s") || text.starts_with("\xCE\xBCs")) {
      unit_ms = 0.001, text.remove_prefix(3);
    } else if (text.starts_with("ns")) {
      unit_ms = 0.000001, text.remove_prefix(2);
    } else if (text.starts_with("h")) {
      unit_ms = 3'600'000, text.remove_prefix(1);
    } else if (text.starts_with("m")) {
      unit_ms = 60'000, text.remove_prefix(1);
    } else if (text.starts_with("s")) {
      unit_ms = 1000, text.remove_prefix(1);
    } else {
      return std::nullopt;
    }
    total_ms += number * unit_ms;
    any = true;
  }
  if (!std::isfinite(total_ms) || total_ms > 86'400'000.0) total_ms = 86'400'000.0;  // clamp before the cast
  return milliseconds(static_cast<milliseconds::rep>(total_ms));
}

std::chrono::milliseconds review_budget(const AdmissionOptions& options, std::string_view target) {
  milliseconds budget = options.default_budget;
  if (const auto timeout = parse_review_timeout(target)) budget = *timeout - options.margin;
  return std::max(std::min(budget, options.max_budget), kMinBudget);
}

}  // namespace imagegate::webhook
