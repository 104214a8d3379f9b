#include "webhook/admission/json_stream.h"

#include <cmath>
#include <cstdlib>
#include <string>

namespace imagegate::webhook::json_stream {
namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

std::size_t skip_digits(std::string_view s, std::size_t i) noexcept {
  while (i < s.size() && is_digit(s[i])) ++i;
  return i;
}

bool has_number_grammar(std::string_view s) noexcept {
  std::size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  if (i >= s.size()) return false;
  if (s[i] == '0') {
    ++i;
  } else if (is_digit(s[i])) {
    i = skip_digits(s, i);
  } else {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    const std::size_t start = ++i;
    i = skip_digits(s, i);
    if (i == start) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    const std::size_t start = i;
    i = skip_digits(s, i);
    if (i == start) return false;
  }
  return i == s.size();
}

// RFC 8259's number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, and finite as a double when it
// is not a 64-bit integer: what nlohmann's lexer accepts (an integer too long for 64 bits is read with
// strtod, like a fraction; one that overflows to infinity is its "number overflow" error).
bool is_json_number(std::string_view s) {
  if (!has_number_grammar(s)) return false;
  const bool integer = s.find_first_of(".eE") == std::string_view::npos;
  if (integer && s.size() <= 19) return true;
  const std::string text(s);
  return std::isfinite(std::strtod(text.c_str(), nullptr));
}


// A scalar's text as written: simdjson's token runs to the next structural character, spaces included.
std::string_view token_of(od::value& value) noexcept {
  std::string_view token = value.raw_json_token();
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t' || token.back() == '\n' ||
                            token.back() == '\r')) {
    token.remove_suffix(1);
  }
  return token;
}

error_code skip_array(od::value& value) noexcept {
  od::array array;
  if (error_code e = value.get_array().get(array)) return e;
  for (auto element : array) {
    od::value item;
    if (error_code e = std::move(element).get(item)) return e;
    if (error_code e = skip(item)) return e;
  }
  return simdjson::SUCCESS;
}

error_code skip_object(od::value& value) noexcept {
  od::object object;
  if (error_code e = value.get_object().get(object)) return e;
  return for_each_member(object, [](std::string_view, od::value& member) { return skip(member); });
}

Held held_from(od::json_type type) noexcept {
  switch (type) {
    case od::json_type::array:
      return Held::array;
    case od::json_type::object:
      return Held::object;
    case od::json_type::number:
      return Held::number;
    case od::json_type::string:
      return Held::string;
    case od::json_type::boolean:
      return Held::boolean;
    case od::json_type::null:
      return Held::null;
  }
  return Held::null;
}

Error prefixed(std::string_view prefix, Error error) {
  error.message.insert(0, prefix);
  return error;
}

// The thread's parser and text copy for documents up to kReusedParserBytes.
thread_local od::parser reused_parser;
thread_local std::string reused_copy;

}  // namespace

std::string_view type_name(Held held) noexcept {
  switch (held) {
    case Held::absent:
    case Held::null:
      return "null";
    case Held::boolean:
      return "boolean";
    case Held::number:
      return "number";
    case Held::string:
      return "string";
    case Held::array:
      return "array";
    case Held::object:
      return "object";
  }
  return "null";
}

error_code held_of(od::value& value, Held& out) noexcept {
  od::json_type type;
  if (error_code e = value.type().get(type)) return e;
  out = held_from(type);
  return simdjson::SUCCESS;
}

error_code read_scalar(od::value value, Scalar& out) noexcept {
  out = Scalar{};
  if (error_code e = held_of(value, out.held)) return e;
  switch (out.held) {
    case Held::string:
      return value.get_string().get(out.text);
    case Held::boolean: {
      const std::string_view token = token_of(value);
      if (token != "true" && token != "false") return simdjson::T_ATOM_ERROR;
      out.flag = token == "true";
      return simdjson::SUCCESS;
    }
    default:
      return skip(value);
  }
}

error_code skip(od::value value) noexcept {
  Held held = Held::absent;
  if (error_code e = held_of(value, held)) return e;
  switch (held) {
    case Held::object:
      return skip_object(value);
    case Held::array:
      return skip_array(value);
    case Held::string: {
      std::string_view text;
      return value.get_string().get(text);
    }
    case Held::number:
      return is_json_number(token_of(value)) ? simdjson::SUCCESS : simdjson::NUMBER_ERROR;
    case Held::boolean: {
      const std::string_view token = token_of(value);
      return token == "true" || token == "false" ? simdjson::SUCCESS : simdjson::T_ATOM_ERROR;
    }
    case Held::null:
    case Held::absent:
      return token_of(value) == "null" ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
  }
  return simdjson::SUCCESS;
}

Status read_document(std::string_view text, std::size_t readable_after, const JsonLimits& limits,
                     std::string_view error_prefix, Error (*not_object)(Held root), ObjectReader read,
                     void* context) {
  const bool small = text.size() <= kReusedParserBytes;
  std::string own_copy;
  simdjson::padded_string_view view(text.data(), text.size(), text.size() + readable_after);
  if (readable_after < simdjson::SIMDJSON_PADDING) {
    std::string& copy = small ? reused_copy : own_copy;
    copy.assign(text);
    copy.append(simdjson::SIMDJSON_PADDING, ' ');
    view = simdjson::padded_string_view(copy.data(), text.size(), copy.size());
  }
  od::parser own_parser;
  od::parser& parser = small ? reused_parser : own_parser;

  od::document document;
  error_code e = parser.iterate(view).get(document);
  if (!e) {
    od::json_type type;
    e = document.type().get(type);
    if (!e && type != od::json_type::object) {
      // Not an object: whether it is JSON at all is nlohmann's to say.
      if (Status valid = check_json_bounded(text, limits); !valid) return prefixed(error_prefix, valid.error());
      return not_object(held_from(type));
    }
  }
  if (!e) {
    od::object object;
    e = document.get_object().get(object);
    if (!e) e = read(object, context);
    // After the root object, a location still in bounds is content that follows it.
    if (!e && document.current_location().error() == simdjson::SUCCESS) e = simdjson::TRAILING_CONTENT;
  }
  if (!e) return Ok{};
  // Refused: in nlohmann's words, as the DOM parse worded it. Should nlohmann accept what simdjson refused,
  // the document is still refused (fail closed); the differential fuzz target exists to find such a case.
  if (Status valid = check_json_bounded(text, limits); !valid) return prefixed(error_prefix, valid.error());
  return invalid_argument(std::string(error_prefix) + "invalid JSON: " + simdjson::error_message(e));
}

}  // namespace imagegate::webhook::json_stream
