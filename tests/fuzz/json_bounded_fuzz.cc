// Fuzzes common/json_bounded.h, the pre-scan every parse of outside JSON goes through. Its count must be
// exact for valid JSON, or a limit is looser (memory) or stricter (refusals) than documented:
//  - a document parse_json_bounded accepts has at most max_values values and max_depth levels;
//  - for any text nlohmann accepts, the pre-scan passes with the document's own value count and depth as
//    limits, and reports `values` (or `depth`) one below them.
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

  if (!nlohmann::json::accept(text)) return 0;
  const Shape s = shape_of(nlohmann::json::parse(text));
  if (imagegate::json_limit_violation(text, JsonLimits{.max_depth = s.depth, .max_values = s.values})) std::abort();
  const auto fewer = imagegate::json_limit_violation(text, JsonLimits{.max_depth = s.depth, .max_values = s.values - 1});
  if (!fewer || fewer->limit != JsonLimit::values) std::abort();
  if (s.depth > 0) {
    const auto shallower =
        imagegate::json_limit_violation(text, JsonLimits{.max_depth = s.depth - 1, .max_values = s.values});
    if (!shallower || shallower->limit != JsonLimit::depth) std::abort();
  }
  return 0;
}
