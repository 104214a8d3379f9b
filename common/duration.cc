#include "common/duration.h"

namespace imagegate {

std::optional<std::chrono::seconds> parse_duration(std::string_view text) noexcept {
  constexpr long long kMaxSeconds = 10LL * 366 * 24 * 3600;
  if (text.empty() || text.size() > 32) return std::nullopt;
  long long total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    long long value = 0;
    std::size_t digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      value = value * 10 + (text[i] - '0');
      ++i;
      if (++digits > 10) return std::nullopt;
    }
    if (digits == 0 || i == text.size()) return std::nullopt;
    long long unit = 0;
    switch (text[i]) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      default: return std::nullopt;
    }
    ++i;
    total += value * unit;
    if (total > kMaxSeconds) return std::nullopt;
  }
  if (total <= 0) return std::nullopt;
  return std::chrono::seconds(total);
}

}  // namespace imagegate
