#include "common/json_bounded.h"
#include "common/json_check.h"

#include <string>

namespace imagegate {
namespace {

bool is_json_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

std::optional<JsonLimitViolation> json_limit_violation(std::string_view text, const JsonLimits& limits) noexcept {
  if (text.size() > limits.max_bytes) return JsonLimitViolation{JsonLimit::bytes, text.size()};
  int depth = 0;
  std::size_t values = 0;
  bool in_string = false;
  bool escaped = false;
  // True at the start and right after an opener: the next non-space byte starts a value unless it closes.
  bool expect_first = true;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (is_json_space(c)) continue;
    if (expect_first) {
      expect_first = false;
      if (c != ']' && c != '}' && ++values > limits.max_values) return JsonLimitViolation{JsonLimit::values, i};
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case ',':
        if (++values > limits.max_values) return JsonLimitViolation{JsonLimit::values, i};
        break;
      case '[':
      case '{':
        if (++depth > limits.max_depth) return JsonLimitViolation{JsonLimit::depth, i};
        expect_first = true;
        break;
      case ']':
      case '}':
        // Clamped: "]]]" then deep nesting must not borrow depth from closers that close nothing.
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return std::nullopt;
}

namespace {

// The refusals parse_json_bounded and check_json_bounded share, before any parser runs.
Status bounds_status(std::string_view text, const JsonLimits& limits) {
  if (const auto v = json_limit_violation(text, limits)) {
    switch (v->limit) {
      case JsonLimit::bytes:
        return resource_exhausted("JSON of " + std::to_string(text.size()) + " bytes exceeds the limit of " +
                                  std::to_string(limits.max_bytes) + " bytes");
      case JsonLimit::depth:
        return resource_exhausted("JSON nested deeper than " + std::to_string(limits.max_depth) + " levels at byte " +
                                  std::to_string(v->offset));
      case JsonLimit::values:
        return resource_exhausted("JSON holds more than " + std::to_string(limits.max_values) + " values (at byte " +
                                  std::to_string(v->offset) + ")");
    }
  }
  // nlohmann's lexer takes a NUL byte for the end of the input and ignores what follows ("4\0[[[" parses as
  // 4), where any other JSON reader refuses the document. No JSON text holds a NUL (in a string it must be
  // escaped), so it is refused here: the document imagegate judges is the one every reader sees.
  if (const std::size_t nul = text.find('\0'); nul != std::string_view::npos) {
    return invalid_argument("invalid JSON at byte " + std::to_string(nul + 1) + ": a NUL byte");
  }
  return Ok{};
}

// nlohmann's parse error, as parse_json_bounded words it.
Error syntax_error(const nlohmann::json::parse_error& e) {
  // e.what() already says "parse error at line L, column C: ..."; the byte offset is what a log reader
  // can seek to in a captured body.
  return invalid_argument("invalid JSON at byte " + std::to_string(e.byte) + ": " + e.what());
}

// Reads every token and builds nothing: nlohmann's own lexer and grammar, so it accepts and refuses
// exactly what nlohmann::json::parse does, with the same exception.
class NullSax final : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    if (const auto* parse = dynamic_cast<const nlohmann::json::parse_error*>(&e)) {
      error_ = syntax_error(*parse);
    } else {
      error_ = invalid_argument(std::string("invalid JSON: ") + e.what());
    }
    return false;
  }
  Status status() const { return error_ ? Status(*error_) : Status(Ok{}); }

 private:
  std::optional<Error> error_;
};

}  // namespace

Status check_json_bounded(std::string_view text, const JsonLimits& limits) {
  if (Status s = bounds_status(text, limits); !s) return s;
  NullSax sax;
  nlohmann::json::sax_parse(text, &sax);
  return sax.status();
}

Result<nlohmann::json> parse_json_bounded(std::string_view text, const JsonLimits& limits,
                                          const nlohmann::json::parser_callback_t& callback) {
  if (Status s = bounds_status(text, limits); !s) return s.error();
  try {
    return nlohmann::json::parse(text, callback);
  } catch (const nlohmann::json::parse_error& e) {
    return syntax_error(e);
  } catch (const std::exception& e) {
    // Other nlohmann errors, and whatever a caller's callback throws to stop the parse.
    return invalid_argument(std::string("invalid JSON: ") + e.what());
  }
}

}  // namespace imagegate
