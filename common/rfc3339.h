// format_rfc3339: the one RFC 3339 formatter (UTC, "Z"): the logs' `time` (milliseconds), verdicts and
// inventory (seconds), verification messages. Thread-safe, no allocation in write_rfc3339 (the decision
// log calls it per review). (The one parser, which reads offsets and fractions too, is
// verifier/image/scan_verdict.h's parse_rfc3339.)
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace imagegate {

enum class Rfc3339Precision { seconds, milliseconds };

// Room for any time_point system_clock holds, milliseconds included.
inline constexpr std::size_t kRfc3339Buffer = 32;

// "2026-12-07T18:30:55Z" or "2026-12-07T18:30:55.123Z" into `buffer`; the view points into it. Rounds down.
std::string_view write_rfc3339(char (&buffer)[kRfc3339Buffer], std::chrono::system_clock::time_point t,
                               Rfc3339Precision precision = Rfc3339Precision::seconds) noexcept;

std::string format_rfc3339(std::chrono::system_clock::time_point t,
                           Rfc3339Precision precision = Rfc3339Precision::seconds);

}  // namespace imagegate
