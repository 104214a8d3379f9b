// Tests common/duration.cc: the one duration grammar (policies, the server config and serve's flags, the
// verdict API's ?olderThan=, the CLI's --older-than and --timeout), and what each caller bounds.
#include "common/duration.h"

#include <gtest/gtest.h>

#include <optional>
#include <string_view>

namespace imagegate {
namespace {

TEST(ParseDuration, EveryUnitAloneAndCombined) {
  struct Case {
    std::string_view text;
    long long ms;
  };
  const Case cases[] = {
      // What the server config took (ms, s, m, h; one pair) ...
      {"250ms", 250}, {"10s", 10'000}, {"2m", 120'000}, {"1h", 3'600'000}, {"0s", 0}, {"0ms", 0},
      // ... what policies and ?olderThan= took (s, m, h, d; combinable) ...
      {"30s", 30'000}, {"15m", 900'000}, {"24h", 86'400'000}, {"7d", 604'800'000}, {"1h30m", 5'400'000},
      {"1d12h", 129'600'000},
      // ... and the union.
      {"1m30s500ms", 90'500}, {"1500ms", 1'500}, {"2d3h4m5s6ms", 183'845'006}, {"30m1h", 5'400'000},
      {"3660d", 3660LL * 86'400'000},
      // Go's syntax, which the API server writes (?timeout=): fractions, us/µs/ns; rounded down to ms.
      {"1.5s", 1'500}, {"1m0s", 60'000}, {"2.5h", 9'000'000}, {".5s", 500}, {"5.s", 5'000}, {"1500us", 1},
      {"1500\xC2\xB5s", 1}, {"999999ns", 0}, {"0.1s", 100}, {"1.0000000001s", 1'000},
  };
  for (const Case& c : cases) {
    const auto d = parse_duration(c.text);
    ASSERT_TRUE(d.has_value()) << c.text;
    EXPECT_EQ(d->count(), c.ms) << c.text;
  }
}

TEST(ParseDuration, RejectsWhatIsNotTheGrammar) {
  for (std::string_view bad : {"", "h", "10", "s", "ms", "m5", "1w", "-5m", "+5m", ".s", "1..5s", "1h 30m", " 1h", "1h ",
                               "10S", "1H", "5mss", "5sm", "1y", "1 s", "99999999999999s", "4000d", "3661d",
                               "0x10s", "１s", "1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d" /* over 64 bytes */}) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
}

TEST(ParseDuration, BareNumbersAndSaturationOnlyWhenAsked) {
  EXPECT_FALSE(parse_duration("30").has_value());
  EXPECT_EQ(parse_duration("30", {.bare_number_is_seconds = true})->count(), 30'000);
  EXPECT_EQ(parse_duration("7.5", {.bare_number_is_seconds = true})->count(), 7'500);
  EXPECT_FALSE(parse_duration("1m30", {.bare_number_is_seconds = true}).has_value()) << "a bare number only alone";
  EXPECT_FALSE(parse_duration("99999999999999999999h").has_value());
  EXPECT_EQ(parse_duration("99999999999999999999h", {.saturate = true}), kMaxDuration);
  EXPECT_EQ(parse_duration("3661d1s", {.saturate = true}), kMaxDuration);
  EXPECT_FALSE(parse_duration("3661dx", {.saturate = true}).has_value()) << "saturation never excuses bad syntax";
}

TEST(ParsePositiveSeconds, WhatPoliciesAndPruneTake) {
  EXPECT_EQ(parse_positive_seconds("30d")->count(), 30 * 86400);
  EXPECT_EQ(parse_positive_seconds("1h30m")->count(), 5400);
  EXPECT_EQ(parse_positive_seconds("1500ms")->count(), 1);  // rounded down
  for (std::string_view bad : {"0s", "0d", "999ms", "", "-5d", "soon"}) {
    EXPECT_FALSE(parse_positive_seconds(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace imagegate
