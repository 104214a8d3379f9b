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
// Inline (header-only) so every parser library, the fuzz targets' too, has it without another source to list.
inline std::optional<std::size_t> json_depth_violation(std::string_view text, int max_depth) noexcept {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > max_depth) return i;
        break;
      case ']':
      case '}':
        // Clamped: "]]]" then deep nesting must not borrow depth from closers that close nothing.
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return std::nullopt;
}

// True when the text nests no deeper than `max_depth` (json_depth_violation finds nothing).
inline bool json_depth_within(std::string_view text, int max_depth) noexcept {
  return !json_depth_violation(text, max_depth).has_value();
}

}  // namespace imagegate
