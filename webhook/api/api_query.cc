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

std::optional<std::size_t> parse_offset(const std::string& text, std::size_t max) {
  if (text.empty()) return 0;
  std::size_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || p != text.data() + text.size() || n > max) return std::nullopt;
  return n;
}

bool is_valid_vulnerability_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > kMaxVulnerabilityIdBytes) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == ':' || c == '-';
  });
}

Result<verifier::InventoryQuery> inventory_page_query(std::string_view target, std::size_t max_limit) {
  std::optional<verifier::InventoryQuery> query = inventory_query(target);
  if (!query) return invalid_argument("bad ?digest= (want sha256:<64 lowercase hex>)");
  if (query->namespace_name.size() > kMaxFilterBytes) return invalid_argument("?namespace= is too long");
  query->image_contains = query_param(target, "search");
  if (query->image_contains.size() > kMaxFilterBytes) return invalid_argument("?search= is too long");
  query->cve = query_param(target, "cve");
  if (!query->cve.empty() && !is_valid_vulnerability_id(query->cve)) {
    return invalid_argument("bad ?cve= (a vulnerability id: letters, digits and . _ : -, at most 64)");
  }
  const auto limit = parse_limit(query_param(target, "limit"), max_limit);
  if (!limit) return invalid_argument("bad ?limit= (a positive number)");
  const auto offset = parse_offset(query_param(target, "offset"), max_limit);
  if (!offset) return invalid_argument("bad ?offset= (a number from 0 to " + std::to_string(max_limit) + ")");
  query->limit = *limit;
  query->offset = *offset;
  return std::move(*query);
}

Result<RecentFilter> recent_filter(std::string_view target) {
  RecentFilter filter;
  filter.decision = query_param(target, "decision");
  if (!filter.decision.empty() && !ring_decision_index(filter.decision)) {
    return invalid_argument("bad ?decision= (allowed, warned, denied or error)");
  }
  filter.namespace_name = query_param(target, "namespace");
  if (filter.namespace_name.size() > kMaxFilterBytes) return invalid_argument("?namespace= is too long");
  filter.rule = query_param(target, "rule");
  if (filter.rule.size() > kMaxFilterBytes) return invalid_argument("?rule= is too long");
  if (const std::string before = query_param(target, "before"); !before.empty()) {
    const auto id = parse_decision_id(before);
    if (!id) return invalid_argument("bad ?before= (a decision id)");
    filter.before = *id;
  }
  const std::string limit_text = query_param(target, "limit");
  const auto limit = limit_text.empty() ? std::optional<std::size_t>(kDefaultDecisionLimit)
                                        : parse_limit(limit_text, kMaxDecisionLimit);
  if (!limit) return invalid_argument("bad ?limit= (a positive number)");
  filter.limit = *limit;
  return filter;
}

std::optional<std::uint64_t> parse_decision_id(std::string_view text) noexcept {
  if (text.empty() || text.front() == '0') return std::nullopt;
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return n;
}

}  // namespace imagegate::webhook
