#include "verifier/verdict/redis_inventory_codec.h"

#include <charconv>

#include <nlohmann/json.hpp>

#include "common/json_bounded.h"

namespace imagegate::verifier {

std::string inventory_member(const InventoryEntry& e) {
  return nlohmann::json::array({e.namespace_name, e.kind, e.name, e.image, e.digest})
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool parse_member(std::string_view member, InventoryEntry& e) {
  // Five strings: anything with more values is not ours, and is refused before it is built.
  const auto parsed = parse_json_bounded(member, JsonLimits{.max_depth = 1, .max_values = 6});
  if (!parsed) return false;
  const nlohmann::json& j = *parsed;
  if (!j.is_array() || j.size() != 5) return false;
  for (const auto& part : j) {
    if (!part.is_string()) return false;
  }
  e.namespace_name = j[0].get<std::string>();
  e.kind = j[1].get<std::string>();
  e.name = j[2].get<std::string>();
  e.image = j[3].get<std::string>();
  e.digest = j[4].get<std::string>();
  return true;
}

std::optional<std::int64_t> to_int(const redisReply* r) {
  if (r == nullptr) return std::nullopt;
  if (r->type == REDIS_REPLY_INTEGER) return r->integer;
  if (r->type != REDIS_REPLY_STRING) return std::nullopt;
  std::int64_t v = 0;
  // Scores come back as decimal strings ("1700000000"); anything after the integer part is ignored.
  auto [p, ec] = std::from_chars(r->str, r->str + r->len, v);
  if (ec != std::errc()) return std::nullopt;
  return v;
}

}  // namespace imagegate::verifier
