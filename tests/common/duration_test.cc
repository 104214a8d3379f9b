// Tests common/duration.cc: the policy duration syntax (moved from tests/policy/loader_test.cc with the function).
#include "common/duration.h"

#include <gtest/gtest.h>

#include <optional>
#include <string_view>

namespace imagegate {
namespace {

TEST(ParseDuration, Table) {
  struct Case {
    std::string_view text;
    std::optional<long long> seconds;
  };
  const Case cases[] = {
      {"30s", 30},   {"15m", 900},     {"24h", 86400},      {"7d", 604800}, {"1h30m", 5400},
      {"1d12h", 129600}, {"0s", std::nullopt}, {"", std::nullopt}, {"h", std::nullopt}, {"10", std::nullopt},
      {"1w", std::nullopt}, {"-5m", std::nullopt}, {"1.5h", std::nullopt}, {"99999999999s", std::nullopt},
      {"4000d", std::nullopt}, {"1h 30m", std::nullopt},
  };
  for (const Case& c : cases) {
    const auto d = parse_duration(c.text);
    ASSERT_EQ(d.has_value(), c.seconds.has_value()) << c.text;
    if (d) {
      EXPECT_EQ(d->count(), *c.seconds) << c.text;
    }
  }
}

}  // namespace
}  // namespace imagegate
