#include "common/json_writer.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace imagegate {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// The length of the well-formed UTF-8 sequence starting at text[i] (a byte >= 0x80), or 0 when it is
// ill-formed; then `*consumed` is how many bytes the bad sequence takes. The ranges are the Unicode
// standard's (table 3-7), which is what nlohmann's decoder (Hoehrmann's DFA) accepts: it rejects at the
// first byte that no well-formed sequence can continue with. A lead byte that is itself invalid is
// consumed; a later byte that breaks the sequence is not (it may start the next one).
std::size_t utf8_sequence(std::string_view text, std::size_t i, std::size_t* consumed) {
  const auto lead = static_cast<unsigned char>(text[i]);
  std::size_t length = 0;
  unsigned char low = 0x80;  // the second byte's range
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    *consumed = 1;  // 0x80..0xC1, 0xF5..0xFF never lead
    return 0;
  }
  for (std::size_t k = 1; k < length; ++k) {
    if (i + k >= text.size()) {
      *consumed = k;  // cut short by the end of the text
      return 0;
    }
    const auto byte = static_cast<unsigned char>(text[i + k]);
    const unsigned char lo = k == 1 ? low : 0x80;
    const unsigned char hi = k == 1 ? high : 0xBF;
    if (byte < lo || byte > hi) {
      *consumed = k;
      return 0;
    }
  }
  return length;
}

// Whether a byte is copied as it is: printable ASCII other than '"' and '\'.
constexpr std::array<bool, 256> kPlain = [] {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x80; ++c) plain[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
  return plain;
}();

void append_escape(std::string& out, unsigned char c) {
  switch (c) {
    case '"':
      out += "\\\"";
      return;
    case '\\':
      out += "\\\\";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    default: {
      constexpr char kHex[] = "0123456789abcdef";
      const char escaped[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
      out.append(escaped, sizeof escaped);
    }
  }
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  std::size_t i = 0;
  while (i < text.size()) {
    // The run of bytes copied as they are.
    std::size_t run = i;
    while (run < text.size() && kPlain[static_cast<unsigned char>(text[run])]) ++run;
    out.append(text.data() + i, run - i);
    i = run;
    if (i == text.size()) break;
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      append_escape(out, c);
      ++i;
      continue;
    }
    std::size_t consumed = 0;
    if (const std::size_t length = utf8_sequence(text, i, &consumed); length != 0) {
      out.append(text.data() + i, length);
      i += length;
    } else {
      out += kReplacement;
      i += consumed;
    }
  }
  out += '"';
}

void append_json_double(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  if (value == 0) {
    out += std::signbit(value) ? "-0.0" : "0.0";
    return;
  }
  // The shortest digits that read back as `value`, then nlohmann's layout of them (its format_buffer:
  // fixed point for exponents in (-4, 15], else d.ddde+XX with at least two exponent digits).
  char scientific[32];
  const auto written = std::to_chars(scientific, scientific + sizeof scientific, value, std::chars_format::scientific);
  std::string_view text(scientific, static_cast<std::size_t>(written.ptr - scientific));
  if (text.front() == '-') {
    out += '-';
    text.remove_prefix(1);
  }
  const std::size_t e = text.find('e');
  char digits[24];
  int k = 0;
  for (const char c : text.substr(0, e)) {
    if (c != '.') digits[k++] = c;
  }
  std::string_view exponent_text = text.substr(e + 1);  // "+03", "-324"
  const bool negative_exponent = exponent_text.front() == '-';
  int magnitude_in = 0;
  std::from_chars(exponent_text.data() + 1, exponent_text.data() + exponent_text.size(), magnitude_in);
  const int n = (negative_exponent ? -magnitude_in : magnitude_in) + 1;  // the point's place after digit 0
  constexpr int kMinExp = -4;
  constexpr int kMaxExp = 15;
  if (k <= n && n <= kMaxExp) {
    out.append(digits, static_cast<std::size_t>(k));
    out.append(static_cast<std::size_t>(n - k), '0');
    out += ".0";
  } else if (0 < n && n <= kMaxExp) {
    out.append(digits, static_cast<std::size_t>(n));
    out += '.';
    out.append(digits + n, static_cast<std::size_t>(k - n));
  } else if (kMinExp < n && n <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-n), '0');
    out.append(digits, static_cast<std::size_t>(k));
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out.append(digits + 1, static_cast<std::size_t>(k - 1));
    }
    const int exponent = n - 1;
    out += exponent < 0 ? "e-" : "e+";
    const int magnitude = std::abs(exponent);
    if (magnitude < 10) out += '0';
    out += std::to_string(magnitude);
  }
}

void JsonWriter::key(std::string_view name) {
  separate();
  append_json_string(out_, name);
  out_ += ':';
  need_comma_ = false;
}

void JsonWriter::append_unsigned(std::uint64_t number) {
  char buffer[24];
  const auto written = std::to_chars(buffer, buffer + sizeof buffer, number);
  out_.append(buffer, written.ptr);
}

void JsonWriter::append_signed(std::int64_t number) {
  char buffer[24];
  const auto written = std::to_chars(buffer, buffer + sizeof buffer, number);
  out_.append(buffer, written.ptr);
}

}  // namespace imagegate
