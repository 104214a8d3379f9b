// parse_duration: the one duration grammar of imagegate, read wherever a duration comes in: the server
// configuration and serve's flags (gracePeriod, --max-budget, ...), policies (maxAge), the verdict API's
// ?olderThan=, the CLI's --older-than and --timeout, and the API server's `?timeout=` on /validate.
//
// Grammar: one or more number-unit pairs, in any order, no space: "500ms", "30s", "15m", "24h", "7d",
// "1h30m", "1m30s500ms", "1.5s", "2.5h". A number is digits with an optional fraction ("1.5"); units
// ns, us (or µs), ms, s, m, h, d, in lower case. It is Go's time.ParseDuration syntax (what the API server
// writes: "10s", "1m0s", "1.5s") plus days; no sign. The result is rounded down to milliseconds. With
// `bare_number_is_seconds`, one number alone ("30", "7.5") is seconds. At most 10 years: beyond, nullopt,
// or the maximum with `saturate`.
//
// Each caller bounds the result to what it means: the server configuration at most a week
// (webhook/server/server_config.h), a policy's maxAge and prune's olderThan a positive number of seconds
// (parse_positive_seconds). Stateless, thread-safe, no dependencies.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace imagegate {

struct DurationRules {
  bool bare_number_is_seconds = false;  // "30" = 30s (the API server's ?timeout=, the verdict CLI's --timeout)
  bool saturate = false;                // beyond 10 years: 10 years (else nullopt)
};

inline constexpr std::chrono::milliseconds kMaxDuration = std::chrono::hours(24 * 366 * 10);

// What the grammar reads, 0 .. kMaxDuration. nullopt otherwise.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text, DurationRules rules = {}) noexcept;

// A positive duration in whole seconds (policies, ?olderThan= of prune): parse_duration's, rounded down;
// nullopt below one second. "30d", "1h30m", "90s".
std::optional<std::chrono::seconds> parse_positive_seconds(std::string_view text) noexcept;

// The grammar in words, for error messages.
inline constexpr std::string_view kDurationSyntax =
    "a duration: numbers with units ms, s, m, h, d (500ms, 30s, 1h30m, 7d)";

}  // namespace imagegate
