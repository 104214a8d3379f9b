// Tests common/json_writer.h against nlohmann's dump(-1, ' ', false, error_handler_t::replace), the writer
// it replaces on the hot path: the same bytes for every one- and two-byte string, for random strings rich
// in control characters, quotes and broken UTF-8, for the doubles imagegate writes (durations in whole
// microseconds), and the same value read back for any double.
#include "common/json_writer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace imagegate {
namespace {

std::string nlohmann_dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string written_string(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

std::string written_double(double value) {
  std::string out;
  append_json_double(out, value);
  return out;
}

TEST(JsonWriter, EscapesLikeNlohmann) {
  EXPECT_EQ(written_string(""), R"("")");
  EXPECT_EQ(written_string("a\"b\\c/d"), R"("a\"b\\c/d")");
  EXPECT_EQ(written_string("\b\f\n\r\t"), R"("\b\f\n\r\t")");
  EXPECT_EQ(written_string(std::string_view("\x00\x01\x1f\x7f", 4)), "\"\\u0000\\u0001\\u001f\x7f\"");
  EXPECT_EQ(written_string("caf\xC3\xA9 \xF0\x9F\x94\x92"), "\"caf\xC3\xA9 \xF0\x9F\x94\x92\"");  // UTF-8 kept
  // Ill-formed UTF-8: one U+FFFD per bad sequence; the byte that broke a sequence starts the next one.
  EXPECT_EQ(written_string("a\xFF"
                           "b"),
            "\"a\xEF\xBF\xBD"
            "b\"");
  EXPECT_EQ(written_string("\xC3"
                           "A"),
            "\"\xEF\xBF\xBD"
            "A\"");
  EXPECT_EQ(written_string("\xE0\x80\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // overlong
  EXPECT_EQ(written_string("\xED\xA0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // surrogate
  EXPECT_EQ(written_string("x\xF0\x9F\x94"), "\"x\xEF\xBF\xBD\"");                          // cut at the end
}

TEST(JsonWriter, EveryOneAndTwoByteStringIsWrittenAsNlohmannDoes) {
  for (int a = 0; a < 256; ++a) {
    const std::string one(1, static_cast<char>(a));
    ASSERT_EQ(written_string(one), nlohmann_dump(one)) << "byte " << a;
    for (int b = 0; b < 256; ++b) {
      const std::string two{static_cast<char>(a), static_cast<char>(b)};
      ASSERT_EQ(written_string(two), nlohmann_dump(two)) << "bytes " << a << " " << b;
    }
  }
}

TEST(JsonWriter, RandomStringsAreWrittenAsNlohmannDoes) {
  // Bytes drawn mostly from the interesting ones: leads and continuations of every length, the edges of
  // the lead ranges, control characters, quote and backslash.
  const std::vector<unsigned char> alphabet = {0x00, 0x01, 0x08, 0x0A, 0x1F, 0x20, '"',  '\\', 'a',  0x7F, 0x80,
                                               0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1,
                                               0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF};
  std::mt19937 random(15);
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::uniform_int_distribution<int> length(0, 12);
  for (int round = 0; round < 200'000; ++round) {
    std::string text;
    for (int n = length(random); n > 0; --n) text += static_cast<char>(alphabet[pick(random)]);
    ASSERT_EQ(written_string(text), nlohmann_dump(text)) << nlohmann::json(text).dump(-1, ' ', true,
                                                                                      nlohmann::json::error_handler_t::replace);
  }
}

TEST(JsonWriter, DurationsInMicrosecondsAreWrittenAsNlohmannDoes) {
  // The decision log's durationMs: round(seconds * 1e6) / 1e3. Every value up to 3 s, then a stride to 60 s.
  for (std::int64_t micros = 0; micros <= 3'000'000; ++micros) {
    const double ms = static_cast<double>(micros) / 1e3;
    ASSERT_EQ(written_double(ms), nlohmann_dump(ms)) << micros;
  }
  for (std::int64_t micros = 3'000'000; micros <= 60'000'000; micros += 997) {
    const double ms = static_cast<double>(micros) / 1e3;
    ASSERT_EQ(written_double(ms), nlohmann_dump(ms)) << micros;
  }
}

TEST(JsonWriter, DoublesReadBackTheSameAndUseNlohmannsLayout) {
  for (const double d : {1.0, -1.0, 0.5, 0.001, 0.0001, 1e-5, 123456789012345.0, 1e15, 1e16, 1.5e20, 1e300,
                         5e-324, std::numeric_limits<double>::max(), -2.5e-7, 0.1, 1.0 / 3}) {
    EXPECT_EQ(written_double(d), nlohmann_dump(d)) << d;
  }
  EXPECT_EQ(written_double(0.0), "0.0");
  EXPECT_EQ(written_double(-0.0), "-0.0");
  EXPECT_EQ(written_double(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(written_double(std::numeric_limits<double>::quiet_NaN()), "null");
  // Any double: the same value read back (nlohmann's Grisu2 may, rarely, pick a longer digit string than
  // the shortest this writer uses; both read back exactly).
  std::mt19937_64 random(15);
  for (int round = 0; round < 100'000; ++round) {
    const std::uint64_t bits = random();
    double d;
    std::memcpy(&d, &bits, sizeof d);
    if (!std::isfinite(d)) continue;
    const std::string text = written_double(d);
    ASSERT_EQ(nlohmann::json::parse(text).get<double>(), d) << text;
  }
}

TEST(JsonWriter, PlacesCommasAndColons) {
  std::string out = "prefix:";
  JsonWriter w(out);
  w.begin_object();
  w.member("a", 1);
  w.member("b", "two");
  w.key("c");
  w.begin_array();
  w.value(true);
  w.null();
  w.begin_object();
  w.end_object();
  w.begin_array();
  w.end_array();
  w.value(std::uint64_t{18446744073709551615U});
  w.value(std::int64_t{-9223372036854775807 - 1});
  w.end_array();
  w.key("d");
  w.string_array(std::vector<std::string>{"x", "y"});
  w.member("e", 2.5);
  w.end_object();
  EXPECT_EQ(out,
            R"(prefix:{"a":1,"b":"two","c":[true,null,{},[],18446744073709551615,-9223372036854775808],"d":["x","y"],"e":2.5})");
  EXPECT_EQ(nlohmann_dump(nlohmann::json::parse(out.substr(7))), out.substr(7));
}

}  // namespace
}  // namespace imagegate
