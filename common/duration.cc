#include "common/duration.h"

#include <cstdint>

namespace imagegate {
namespace {

constexpr std::int64_t kNanosPerMs = 1'000'000;
constexpr std::int64_t kMaxNanos = kMaxDuration.count() * kNanosPerMs;  // 3.2e17: far from int64's end

// The unit at the front of `text` in nanoseconds, and how many bytes it takes; 0 when none.
std::int64_t unit_at(std::string_view text, std::size_t& length) {
  struct Unit {
    std::string_view name;
    std::int64_t nanos;
  };
  // Longest first where one name starts another ("ms" before "m").
  static constexpr Unit kUnits[] = {
      {"ns", 1},          {"us", 1'000},          {"\xC2\xB5s", 1'000}, {"\xCE\xBCs", 1'000},
      {"ms", kNanosPerMs}, {"s", 1'000 * kNanosPerMs}, {"m", 60'000 * kNanosPerMs}, {"h", 3'600'000 * kNanosPerMs},
      {"d", 86'400'000 * kNanosPerMs},
  };
  for (const Unit& unit : kUnits) {
    if (text.starts_with(unit.name)) {
      length = unit.name.size();
      return unit.nanos;
    }
  }
  return 0;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text, DurationRules rules) noexcept {
  if (text.empty() || text.size() > 64) return std::nullopt;
  std::int64_t total = 0;  // nanoseconds, at most kMaxNanos (beyond: `over`)
  bool over = false;
  bool first = true;
  while (!text.empty()) {
    // digits [ "." digits ]: the whole part saturates (only whether it is too long matters then); the
    // fraction keeps 9 digits (nanoseconds of the largest unit are far below what the result keeps).
    std::int64_t whole = 0;
    std::int64_t fraction = 0;
    std::int64_t fraction_scale = 1;
    std::size_t i = 0;
    bool digits = false;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      whole = whole > kMaxNanos ? whole : whole * 10 + (text[i] - '0');
      digits = true;
    }
    if (i < text.size() && text[i] == '.') {
      for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
        if (fraction_scale < 1'000'000'000) {
          fraction = fraction * 10 + (text[i] - '0');
          fraction_scale *= 10;
        }
        digits = true;
      }
    }
    if (!digits) return std::nullopt;
    text.remove_prefix(i);
    std::size_t length = 0;
    std::int64_t unit = 0;
    if (text.empty() && first && rules.bare_number_is_seconds) {
      unit = 1'000 * kNanosPerMs;
    } else {
      unit = unit_at(text, length);
      if (unit == 0) return std::nullopt;
      text.remove_prefix(length);
    }
    first = false;
    if (over || whole > kMaxNanos / unit) {
      over = true;
      continue;
    }
    // fraction * unit / fraction_scale without overflow (fraction < fraction_scale <= 1e9).
    total += whole * unit + fraction * (unit / fraction_scale) + fraction * (unit % fraction_scale) / fraction_scale;
    if (total > kMaxNanos) over = true;
  }
  if (over) return rules.saturate ? std::optional(kMaxDuration) : std::nullopt;
  return std::chrono::milliseconds(total / kNanosPerMs);
}

std::optional<std::chrono::seconds> parse_positive_seconds(std::string_view text) noexcept {
  const std::optional<std::chrono::milliseconds> d = parse_duration(text);
  if (!d || *d < std::chrono::seconds(1)) return std::nullopt;
  return std::chrono::floor<std::chrono::seconds>(*d);
}

}  // namespace imagegate
