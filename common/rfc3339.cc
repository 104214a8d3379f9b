#include "common/rfc3339.h"

#include <cstdio>

namespace imagegate {

std::string_view write_rfc3339(char (&buffer)[kRfc3339Buffer], std::chrono::system_clock::time_point t,
                               Rfc3339Precision precision) noexcept {
  using namespace std::chrono;
  const auto millis = floor<milliseconds>(t);
  const auto secs = floor<seconds>(millis);
  const auto days = floor<std::chrono::days>(secs);
  const year_month_day ymd{days};
  const hh_mm_ss hms{secs - days};
  const int n = std::snprintf(buffer, kRfc3339Buffer, "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(ymd.year()),
                              static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                              static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                              static_cast<int>(hms.seconds().count()));
  if (n < 0 || static_cast<std::size_t>(n) >= kRfc3339Buffer - 6) return {};
  std::size_t size = static_cast<std::size_t>(n);
  if (precision == Rfc3339Precision::milliseconds) {
    const auto ms = static_cast<unsigned>((millis - secs).count());
    buffer[size++] = '.';
    buffer[size++] = static_cast<char>('0' + ms / 100);
    buffer[size++] = static_cast<char>('0' + ms / 10 % 10);
    buffer[size++] = static_cast<char>('0' + ms % 10);
  }
  buffer[size++] = 'Z';
  return {buffer, size};
}

std::string format_rfc3339(std::chrono::system_clock::time_point t, Rfc3339Precision precision) {
  char buffer[kRfc3339Buffer];
  return std::string(write_rfc3339(buffer, t, precision));
}

}  // namespace imagegate
