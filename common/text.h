// Small text helpers shared across floors: ASCII lower case, joining, Base64 encoding, URL
// percent-encoding. Stateless and thread-safe; no locale is consulted. common/text.cc holds the
// out-of-line parts (it links nothing: no OpenSSL).
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

// Standard Base64 (RFC 4648 section 4: '+' and '/', '=' padding to a multiple of four characters).
std::string base64_encode(std::string_view bytes);

// Percent-encoding for a URL query value (RFC 3986): unreserved characters (ASCII letters, digits, "-._~")
// stay, every other byte becomes %XX with upper-case hex, UTF-8 bytes one by one.
std::string url_encode(std::string_view text);

}  // namespace imagegate
