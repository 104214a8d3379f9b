// Fuzzes common/json_bounded.h, the pre-scan every parse of outside JSON goes through. Its count must be
// exact for valid JSON, or a limit is looser (memory) or stricter (refusals) than documented:
//  - a document parse_json_bounded accepts has at most max_values values and max_depth levels;
//  - for any text nlohmann accepts, the pre-scan passes with the number of values nlohmann reads (duplicate
//    keys included) and its deepest level as limits, and reports `values` (or `depth`) one below them;
//  - a text with a NUL byte is refused (nlohmann alone stops at the NUL and accepts the prefix).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/json_bounded.h"

namespace {

struct Shape {
  std::size_t values = 0;
  int depth = 0;
};

// Recursion is safe: the text is at most libFuzzer's -max_len bytes deep.
Shape shape_of(const nlohmann::json& j) {
  Shape s{1, j.is_structured() ? 1 : 0};
  if (j.is_structured()) {
    for (const auto& child : j) {
      const Shape c = shape_of(child);
      s.values += c.values;
      if (c.depth + 1 > s.depth) s.depth = c.depth + 1;
    }
  }
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using imagegate::JsonLimit;
  using imagegate::JsonLimits;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const JsonLimits small{.max_depth = 4, .max_values = 16};
  auto bounded = imagegate::parse_json_bounded(text, small);
  if (bounded.ok()) {
    const Shape s = shape_of(*bounded);
    if (s.values > small.max_values || s.depth > small.max_depth) std::abort();
  } else if (bounded.error().message.empty()) {
    std::abort();
  }

  if (text.find('\0') != std::string_view::npos) {
    if (bounded.ok()) std::abort();
    return 0;
  }
  if (!nlohmann::json::accept(text)) return 0;
  // Every value nlohmann reads, duplicate keys included (the DOM keeps the last one; the pre-scan counts
  // what is read, which is what allocates), and the deepest container level.
  std::size_t values = 0;
  int deepest = 0;
  const nlohmann::json::parser_callback_t count = [&values, &deepest](int depth, nlohmann::json::parse_event_t e,
                                                                      nlohmann::json&) {
    using E = nlohmann::json::parse_event_t;
    if (e == E::value || e == E::object_end || e == E::array_end) ++values;
    if ((e == E::object_start || e == E::array_start) && depth + 1 > deepest) deepest = depth + 1;
    return true;
  };
  (void)nlohmann::json::parse(text, count);
  if (imagegate::json_limit_violation(text, JsonLimits{.max_depth = deepest, .max_values = values})) std::abort();
  const auto fewer = imagegate::json_limit_violation(text, JsonLimits{.max_depth = deepest, .max_values = values - 1});
  if (!fewer || fewer->limit != JsonLimit::values) std::abort();
  if (deepest > 0) {
    const auto shallower =
        imagegate::json_limit_violation(text, JsonLimits{.max_depth = deepest - 1, .max_values = values});
    if (!shallower || shallower->limit != JsonLimit::depth) std::abort();
  }
  return 0;
}
