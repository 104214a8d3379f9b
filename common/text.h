// Small text helpers shared across floors. Header-only, stateless, thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace imagegate {

// ASCII lower case, independent of the C locale (host names, header names, registry keys): only 'A'..'Z'
// change; every other byte, UTF-8 included, is kept as it is.
inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The items of `items` (any range of things a std::string can be appended with: std::string,
// std::string_view, const char*) with `separator` between them. The separator goes in only once the text
// so far is non-empty, so empty items at the front leave no leading separator: {"", "a"} joins to "a".
template <typename Range>
std::string join(const Range& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

}  // namespace imagegate
