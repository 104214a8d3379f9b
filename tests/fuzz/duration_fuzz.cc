// libFuzzer target for common/duration.cc: the one duration grammar reads outside input (the API server's
// ?timeout=, the verdict API's ?olderThan=, config and policy files). Whatever the bytes: no crash, no
// overflow (sanitizers), a result within 0 .. kMaxDuration, saturation never accepting what the grammar
// refuses, a bare number accepted only alone, and the formatter's output (common/rfc3339.h) well formed.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/duration.h"
#include "common/rfc3339.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using imagegate::DurationRules;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto plain = imagegate::parse_duration(text);
  const auto saturated = imagegate::parse_duration(text, DurationRules{.saturate = true});
  const auto bare = imagegate::parse_duration(text, DurationRules{.bare_number_is_seconds = true});
  for (const auto& d : {plain, saturated, bare}) {
    if (d && (d->count() < 0 || *d > imagegate::kMaxDuration)) std::abort();
  }
  if (plain && (!saturated || *saturated != *plain)) std::abort();  // saturation changes only what overflows
  if (plain && (!bare || *bare != *plain)) std::abort();            // a bare number is only ever extra
  if (saturated && !plain && *saturated != imagegate::kMaxDuration) std::abort();
  if (const auto s = imagegate::parse_positive_seconds(text); s && (!plain || s->count() < 1)) std::abort();
  if (plain) {
    char buffer[imagegate::kRfc3339Buffer];
    const auto t = std::chrono::system_clock::time_point(*plain);
    const std::string_view formatted =
        imagegate::write_rfc3339(buffer, t, imagegate::Rfc3339Precision::milliseconds);
    if (formatted.size() < 24 || formatted.back() != 'Z' || formatted[10] != 'T') std::abort();
  }
  return 0;
}
