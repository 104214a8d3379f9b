// The one way imagegate parses JSON that comes from outside (a review, a manifest, a bundle, a report, TUF
// metadata, a shared-cache value, a file): bytes, nesting depth and the number of values are checked by a
// linear pre-scan of the text before nlohmann builds anything, so a parse never allocates more than its
// limits allow. Stateless and thread-safe.
//
// Why a value count and not only bytes: nlohmann's DOM costs far more than the text. Measured with glibc
// (x86-64, nlohmann 3.11): `[]` in an array ~67 B per value (16 B slot, a heap vector, the parent's
// doubling slack), `{}` ~99 B, `0` ~33 B, `""` ~80 B, an object member `"k":{}` ~173 B (a std::map node
// holding key and value, plus the empty map); long keys and strings add their own bytes. So 8 MiB of
// `[],` is ~2.8M values and ~190 MB of DOM. The bound used for the arithmetic at each call site is:
//
//   peak DOM bytes <= kJsonBytesPerValue * max_values + 2 * max_bytes
//
// (200 B per value covers the worst shape measured; string and key contents are at most the text's bytes,
// and the parser's token buffer holds at most one more such string). Each caller picks limits sized to
// what it legitimately reads and says the resulting bound beside them.
#pragma once

#include <cstddef>
#include <limits>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace imagegate {

// Worst-case DOM bytes one value may cost (see above); for the memory arithmetic at the call sites.
inline constexpr std::size_t kJsonBytesPerValue = 200;

struct JsonLimits {
  // The caller may have bounded the bytes already (an HTTP body limit); then leave this at its default.
  std::size_t max_bytes = std::numeric_limits<std::size_t>::max();
  int max_depth = 32;            // containers inside containers; the root container is level 1
  std::size_t max_values = 0;    // every value: the root, each array element, each object member

  // The most DOM bytes a parse within these limits may build (the formula above).
  constexpr std::size_t memory_bound() const noexcept {
    const std::size_t bytes = max_bytes == std::numeric_limits<std::size_t>::max() ? 0 : max_bytes;
    return kJsonBytesPerValue * max_values + 2 * bytes;
  }
};

enum class JsonLimit { bytes, depth, values };

struct JsonLimitViolation {
  JsonLimit limit;
  std::size_t offset;  // the byte at which the limit was crossed (the text's size for `bytes`)

  friend bool operator==(const JsonLimitViolation&, const JsonLimitViolation&) = default;
};

// The first limit the text crosses, or nullopt. Linear, no allocation. Strings are skipped with their
// escapes, so brackets and commas inside them do not count. Values are counted as the parser will build
// them: the root, the first element of each non-empty container, and one per comma outside strings; for
// any text (valid, or a prefix of invalid) this is at least the number of values nlohmann builds before
// it stops. Malformed JSON is not reported here (a stray closer never takes the depth below zero): the
// real parser does that.
std::optional<JsonLimitViolation> json_limit_violation(std::string_view text, const JsonLimits& limits) noexcept;

// Parses `text` within `limits`. Errors: resource_exhausted naming the limit crossed ("JSON holds more than
// 100000 values (at byte 812345)"), invalid_argument for text that is not JSON ("invalid JSON at byte N:
// ..."). Callers prefix what the document is. `callback` (optional) is nlohmann's parser callback, for a
// caller that needs to see keys as they are read (duplicate-key checks); it runs only after the pre-scan
// passed. A NUL byte anywhere is invalid JSON (nlohmann alone would stop reading at it). No exception escapes.
Result<nlohmann::json> parse_json_bounded(std::string_view text, const JsonLimits& limits,
                                          const nlohmann::json::parser_callback_t& callback = nullptr);

}  // namespace imagegate
