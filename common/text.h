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

}  // namespace imagegate
