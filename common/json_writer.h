// A small streaming JSON writer: appends compact JSON to a caller's std::string (which the caller may
// reuse), with no DOM in between. For what imagegate writes on its hot path (the AdmissionReview answer,
// the decision-log line, error bodies); any floor may use it.
//
// Bytes written are those of nlohmann's `dump(-1, ' ', false, error_handler_t::replace)` for the same
// values, so answers and logs read the same whichever writes them:
//   - strings: `"` and `\` escaped, \b \f \n \r \t as such, other bytes below 0x20 as \u00xx (lower-case
//     hex), UTF-8 copied as it is; each ill-formed UTF-8 sequence becomes one U+FFFD, cut where nlohmann's
//     decoder rejects it (the offending byte starts the next sequence unless it led the bad one);
//   - numbers: integers in decimal; doubles as the shortest text that reads back the same, in nlohmann's
//     layout (`1.0`, `0.001`, `1e-05`, `1.5e+20`), non-finite as `null`.
// Object members come out in the order written: a caller that wants nlohmann's (sorted keys) writes them
// sorted. The writer checks nothing about structure (a key outside an object is the caller's bug); commas
// and colons it places itself.
//
// Not thread-safe (one writer per buffer); no allocation besides the buffer's growth.
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>

namespace imagegate {

// Appends `text` as a JSON string (quotes included), escaped as above.
void append_json_string(std::string& out, std::string_view text);
// Appends `value` as nlohmann writes a double (see above).
void append_json_double(std::string& out, double value);

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }
  // The next member's name; its value follows (a value call or begin_object / begin_array).
  void key(std::string_view name);

  void value(std::string_view text) {
    separate();
    append_json_string(out_, text);
  }
  void value(const char* text) { value(std::string_view(text)); }
  void value(const std::string& text) { value(std::string_view(text)); }
  void value(bool b) {
    separate();
    out_ += b ? "true" : "false";
  }
  template <std::integral T>
    requires(!std::same_as<T, bool>)
  void value(T number) {
    separate();
    if constexpr (std::signed_integral<T>) {
      append_signed(static_cast<std::int64_t>(number));
    } else {
      append_unsigned(static_cast<std::uint64_t>(number));
    }
  }
  void value(double number) {
    separate();
    append_json_double(out_, number);
  }
  void null() {
    separate();
    out_ += "null";
  }

  // key(name) then value(v).
  template <typename T>
  void member(std::string_view name, const T& v) {
    key(name);
    value(v);
  }
  // An array of strings (any range of things value() takes).
  template <typename Range>
  void string_array(const Range& items) {
    begin_array();
    for (const auto& item : items) value(item);
    end_array();
  }

 private:
  void separate() {
    if (need_comma_) out_ += ',';
    need_comma_ = true;
  }
  void open(char bracket) {
    separate();
    out_ += bracket;
    need_comma_ = false;
  }
  void close(char bracket) {
    out_ += bracket;
    need_comma_ = true;
  }
  void append_unsigned(std::uint64_t number);
  void append_signed(std::int64_t number);

  std::string& out_;
  bool need_comma_ = false;  // a value was written at this level: the next one needs a comma
};

}  // namespace imagegate
