// A nesting-depth pre-check for JSON text, run before a parser builds anything. nlohmann's DOM is walked
// recursively (copy, dump, our own traversal) and its parser recurses per level for some inputs, so a
// document nested a million levels deep must be refused while it is still bytes. Stateless and thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace imagegate {

// The offset of the first '[' or '{' at which container nesting exceeds `max_depth`, or nullopt when the
// text never goes deeper. Strings are skipped with their escapes, so brackets inside them do not count.
// Malformed JSON is not reported (a stray closer never takes the depth below zero): the real parser does that.
std::optional<std::size_t> json_depth_violation(std::string_view text, int max_depth) noexcept;

// True when the text nests no deeper than `max_depth` (json_depth_violation finds nothing).
inline bool json_depth_within(std::string_view text, int max_depth) noexcept {
  return !json_depth_violation(text, max_depth).has_value();
}

}  // namespace imagegate
