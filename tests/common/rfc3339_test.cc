// Tests common/rfc3339.cc: the one RFC 3339 formatter (seconds and milliseconds, UTC), against fixed
// instants and against the one parser (verifier/image/scan_verdict.h is above common/: checked by value
// here, round trips in the verifier's tests).
#include "common/rfc3339.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace imagegate {
namespace {

using namespace std::chrono;

system_clock::time_point at(int y, unsigned mo, unsigned d, int h, int mi, int s, int ms = 0) {
  return sys_days(year(y) / month(mo) / day(d)) + hours(h) + minutes(mi) + seconds(s) + milliseconds(ms);
}

TEST(Rfc3339, SecondsAndMilliseconds) {
  EXPECT_EQ(format_rfc3339(at(2026, 12, 7, 18, 30, 55, 123)), "2026-12-07T18:30:55Z");
  EXPECT_EQ(format_rfc3339(at(2026, 12, 7, 18, 30, 55, 123), Rfc3339Precision::milliseconds),
            "2026-12-07T18:30:55.123Z");
  EXPECT_EQ(format_rfc3339(at(2026, 1, 2, 3, 4, 5, 7), Rfc3339Precision::milliseconds), "2026-01-02T03:04:05.007Z");
  EXPECT_EQ(format_rfc3339(at(2024, 2, 29, 0, 0, 0), Rfc3339Precision::milliseconds), "2024-02-29T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(system_clock::time_point{}), "1970-01-01T00:00:00Z");
}

TEST(Rfc3339, RoundsDownNeverUp) {
  const auto t = at(2026, 12, 31, 23, 59, 59, 999) + microseconds(999);
  EXPECT_EQ(format_rfc3339(t), "2026-12-31T23:59:59Z");
  EXPECT_EQ(format_rfc3339(t, Rfc3339Precision::milliseconds), "2026-12-31T23:59:59.999Z");
}

TEST(Rfc3339, BeforeTheEpochAndTheClocksEnds) {
  EXPECT_EQ(format_rfc3339(at(1969, 12, 31, 23, 59, 59, 500), Rfc3339Precision::milliseconds),
            "1969-12-31T23:59:59.500Z");
  // Saturated times (TUF's "never expires" read as time_point::max()) still format, in the buffer.
  EXPECT_EQ(format_rfc3339(system_clock::time_point::max()).substr(0, 5), "2262-");
  char buffer[kRfc3339Buffer];
  EXPECT_FALSE(write_rfc3339(buffer, system_clock::time_point::min(), Rfc3339Precision::milliseconds).empty());
}

}  // namespace
}  // namespace imagegate
