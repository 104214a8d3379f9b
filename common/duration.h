// parse_duration: the duration syntax of policies and of the verdict API's ?olderThan= (prune): "30s",
// "15m", "24h", "7d", "1h30m". Stateless, thread-safe, no dependencies.
//
// Not the server configuration's syntax ("500ms", "10s": webhook/server/server_config.h), which has
// milliseconds and no days.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace imagegate {

// Units s, m, h, d, one or more number-unit pairs; positive; at most 10 years. nullopt otherwise.
std::optional<std::chrono::seconds> parse_duration(std::string_view text) noexcept;

}  // namespace imagegate
