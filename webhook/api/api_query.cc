#include "webhook/api/api_query.h"

#include <algorithm>
#include <charconv>

#include "verifier/image/image_reference.h"
#include "verifier/image/scan_verdict.h"

namespace imagegate::webhook {

namespace {

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string url_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

std::string query_param(std::string_view target, std::string_view name) {
  const std::size_t q = target.find('?');
  if (q == std::string_view::npos) return "";
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const std::size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) return eq == std::string_view::npos ? "" : url_decode(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return "";
}

std::string normalized_image(const std::string& image) {
  if (image.empty()) return image;
  auto ref = verifier::ImageReference::from_container_image(image);
  if (ref) return ref->string();
  return image;
}

std::optional<std::size_t> parse_limit(const std::string& text, std::size_t max) {
  if (text.empty()) return std::min(kDefaultInventoryLimit, max);
  std::size_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || p != text.data() + text.size() || n == 0) return std::nullopt;
  return std::min(n, max);
}

std::optional<verifier::InventoryQuery> inventory_query(std::string_view target) {
  verifier::InventoryQuery query;
  query.namespace_name = query_param(target, "namespace");
  query.digest = query_param(target, "digest");
  if (!query.digest.empty() && !verifier::is_valid_digest(query.digest)) return std::nullopt;
  if (const std::string image = query_param(target, "image"); !image.empty()) query.image = normalized_image(image);
  return query;
}

}  // namespace imagegate::webhook
