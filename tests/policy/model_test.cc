// Tests for policy/model.cc: the severity scale and the enum names used in messages and logs.
#include "policy/model.h"

#include <gtest/gtest.h>

namespace imagegate::policy {
namespace {

TEST(ParseSeverity, Table) {
  struct Case {
    std::string_view text;
    std::optional<Severity> severity;
  };
  const Case cases[] = {
      {"1", Severity::unknown}, {"2", Severity::low},        {"3", Severity::medium},
      {"4", Severity::high},    {"5", Severity::critical},  {"NONE", Severity::unknown},
      {"unknown", Severity::unknown}, {"Low", Severity::low}, {"MEDIUM", Severity::medium},
      {"high", Severity::high}, {"CRITICAL", Severity::critical}, {"0", std::nullopt},
      {"6", std::nullopt},      {"", std::nullopt},          {"SEVERE", std::nullopt},
      {"45", std::nullopt},     {"HIGH ", std::nullopt},
  };
  for (const Case& c : cases) EXPECT_EQ(parse_severity(c.text), c.severity) << c.text;
}

TEST(ModelStrings, RoundTrip) {
  for (Severity s : {Severity::unknown, Severity::low, Severity::medium, Severity::high, Severity::critical}) {
    EXPECT_EQ(parse_severity(to_string(s)), s);
  }
  EXPECT_EQ(to_string(Mode::audit), "audit");
  EXPECT_EQ(to_string(FailurePolicy::open), "open");
  EXPECT_EQ(to_string(Action::warn), "warn");
  EXPECT_EQ(to_string(Severity::unknown), "UNKNOWN");
}

}  // namespace
}  // namespace imagegate::policy
