// The one-pass JSON reader under the review decoder (admission_review.cc, workload_decoder.cc); internal
// to webhook/admission/. simdjson's On-Demand API reads the text in place: no DOM, strings unescaped into
// the parser's own buffer (valid until the parse ends), so a review costs no allocation beyond the model it
// fills.
//
// Same acceptance as nlohmann's DOM parser (common/json_bounded.h), on which the rest of imagegate and
// the test oracle rely: On-Demand validates only what is read, so the decoders read every value of the
// document (skip() below walks what they do not need: keys and strings unescaped, numbers checked against
// the JSON grammar, literals compared), check the document ends after the root, and run the bounds
// pre-scan first. When simdjson refuses a document, the refusal is worded by check_json_bounded (nlohmann's
// own lexer, building nothing): the same message a DOM parse gave. tests/fuzz/review_differential_fuzz.cc
// and tests/webhook/admission/review_differential_test.cc hold the two decoders to that.
//
// Duplicate keys: the last one wins, as in nlohmann's DOM; the decoders overwrite what an earlier
// occurrence set. Each value is consumed once even when an object is read in two passes (object.reset()),
// so the string buffer simdjson sized for the document never overflows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <simdjson.h>

#include "common/json_bounded.h"
#include "common/json_check.h"
#include "common/result.h"

namespace imagegate::webhook::json_stream {

namespace od = simdjson::ondemand;
using simdjson::error_code;

// What a member held, told apart as the DOM decoder's checks do. `absent` until the key is seen.
enum class Held : std::uint8_t { absent, null, boolean, number, string, array, object };

// nlohmann's name of a type ("null", "boolean", "number", "string", "array", "object"), for messages.
std::string_view type_name(Held held) noexcept;

// The type of the value about to be read (not consumed).
error_code held_of(od::value& value, Held& out) noexcept;

// A scalar member: its type and, for a string, its unescaped text (in the parser's buffer), for a
// boolean its value. Consumes the value; a container is walked like skip().
struct Scalar {
  Held held = Held::absent;
  std::string_view text;
  bool flag = false;

  bool is_string() const noexcept { return held == Held::string; }
  // nlohmann's `find(key)` then `is_string() ? get<string>() : ""`.
  std::string_view string_or_empty() const noexcept { return is_string() ? text : std::string_view(); }
};
error_code read_scalar(od::value value, Scalar& out) noexcept;

// Consumes `value` and everything inside it, checking what nlohmann checks.
error_code skip(od::value value) noexcept;

// Calls `member(key, value)` for each member of `object` in order, `key` unescaped; stops at the first
// error either returns.
template <class Member>
error_code for_each_member(od::object& object, Member&& member) {
  for (auto field : object) {
    od::field f;
    if (error_code e = std::move(field).get(f)) return e;
    std::string_view key;
    if (error_code e = f.unescaped_key().get(key)) return e;
    od::value value = f.value();
    if (error_code e = member(key, value)) return e;
  }
  return simdjson::SUCCESS;
}

// The second pass over an object whose keys a first pass has classified: calls `member(index, value)`
// for each member in order, without reading its key again.
template <class Member>
error_code for_each_value(od::object& object, Member&& member) {
  if (error_code e = object.reset().error()) return e;
  std::size_t index = 0;
  for (auto field : object) {
    od::field f;
    if (error_code e = std::move(field).get(f)) return e;
    od::value value = f.value();
    if (error_code e = member(index++, value)) return e;
  }
  return simdjson::SUCCESS;
}

// Parses `text` and runs `read(root)` on its root object. `readable_after`: bytes the caller's buffer
// holds (readable, any content) after text.end(); at least SIMDJSON_PADDING saves a copy of the text.
// Returns Ok when the root is an object, the reader and simdjson succeeded and nothing follows the root;
// otherwise the Error check_json_bounded(text, limits) gives (the DOM parser's wording) after
// `error_prefix`, or, when the root
// is valid JSON but not an object, not_object(its type). Documents up to kReusedParserBytes use a parser
// kept per thread; larger ones one freed on return, so a thread's memory after a big review is what it was
// before.
inline constexpr std::size_t kReusedParserBytes = 256 * 1024;
using ObjectReader = error_code (*)(od::object& root, void* context);
Status read_document(std::string_view text, std::size_t readable_after, const JsonLimits& limits,
                     std::string_view error_prefix, Error (*not_object)(Held root), ObjectReader read,
                     void* context);

}  // namespace imagegate::webhook::json_stream
