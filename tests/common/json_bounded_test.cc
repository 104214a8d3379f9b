// Tests common/json_bounded.cc: the pre-scan finds the first limit crossed (bytes, depth, values) with
// strings and their escapes skipped, counts values as nlohmann builds them, and parse_json_bounded refuses
// before building anything, naming the limit.
#include "common/json_bounded.h"

#include <gtest/gtest.h>

#include "tests/test_support.h"

#include <functional>
#include <optional>
#include <string>

namespace imagegate {
namespace {

constexpr std::size_t kMany = 1'000'000;

struct Case {
  const char* name;
  std::string text;
  JsonLimits limits;
  std::optional<JsonLimitViolation> want;
};

JsonLimits depth(int d) { return {.max_depth = d, .max_values = kMany}; }
JsonLimits values(std::size_t n) { return {.max_depth = 64, .max_values = n}; }
JsonLimitViolation at(JsonLimit l, std::size_t offset) { return {l, offset}; }

TEST(JsonBounded, PreScanTable) {
  const Case cases[] = {
      // Depth (the cases json_depth_violation had).
      {"empty", "", depth(0), std::nullopt},
      {"scalar at depth 0", "42", depth(0), std::nullopt},
      {"one object at limit 1", R"({"a":1})", depth(1), std::nullopt},
      {"one object over limit 0", R"({"a":1})", depth(0), at(JsonLimit::depth, 0)},
      {"nested at limit", R"({"a":[{"b":[]}]})", depth(4), std::nullopt},
      {"nested one over", R"({"a":[{"b":[]}]})", depth(3), at(JsonLimit::depth, 11)},
      {"siblings do not add up", R"([[1],[2],[3],{"x":1}])", depth(2), std::nullopt},
      {"brackets in strings skipped", R"({"a":"[[[[{{{{"})", depth(1), std::nullopt},
      {"escaped quote keeps the string open", R"({"a":"\"[[[["})", depth(1), std::nullopt},
      {"escaped backslash closes the string", R"({"a":"\\",  "b":[[1]]})", depth(2), at(JsonLimit::depth, 17)},
      {"unicode escape inside string", R"(["\u005b[["])", depth(1), std::nullopt},
      {"stray closers lend no depth", "]]]][[", depth(1), at(JsonLimit::depth, 5)},
      {"unterminated string hides the rest", R"(["abc[[[[)", depth(1), std::nullopt},
      {"negative limit refuses any container", "[]", depth(-1), at(JsonLimit::depth, 0)},
      // Values: root + first element of each non-empty container + one per comma.
      {"scalar is one value", "7", values(1), std::nullopt},
      {"scalar over a zero budget", " 7", values(0), at(JsonLimit::values, 1)},
      {"empty array is one value", "[ ]", values(1), std::nullopt},
      {"array of three at limit", "[1, 2, 3]", values(4), std::nullopt},
      {"array of three one over", "[1, 2, 3]", values(3), at(JsonLimit::values, 5)},
      {"empty containers count once", "[[],{},[ ],{ }]", values(5), std::nullopt},
      {"empty containers one over", "[[],{},[ ],{ }]", values(4), at(JsonLimit::values, 10)},
      {"members count, keys do not", R"({"a":1,"b":{"c":2}})", values(4), std::nullopt},
      {"members one over", R"({"a":1,"b":{"c":2}})", values(3), at(JsonLimit::values, 12)},
      {"commas in strings skipped", R"(["a,b,c,d", "[1,2]", "{\",\":1}"])", values(4), std::nullopt},
      {"escaped quote hides commas", R"(["\",,,,,,"])", values(2), std::nullopt},
      {"escaped backslash ends string, commas count", R"(["\\",1,2])", values(3), at(JsonLimit::values, 7)},
      {"whitespace before a closer is not a value", "[\n\t\r ]", values(1), std::nullopt},
      // Bytes.
      {"bytes at limit", "[1]", {.max_bytes = 3, .max_values = kMany}, std::nullopt},
      {"bytes one over", "[1] ", {.max_bytes = 3, .max_values = kMany}, at(JsonLimit::bytes, 4)},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(json_limit_violation(c.text, c.limits), c.want) << c.name;
  }
}

TEST(JsonBounded, CountMatchesTheParsedDocumentExactly) {
  const std::string docs[] = {
      R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"x","args":["1","2",[],{}]}]}})",
      R"([1,"two",3.0,true,false,null,{"k":[{},{"x":[[[]]]}]}])",
      R"("just a string, with commas, [and] {brackets}")",
  };
  for (const std::string& text : docs) {
    const std::size_t n = testing::json_values(nlohmann::json::parse(text));
    EXPECT_TRUE(parse_json_bounded(text, values(n)).ok()) << text;
    const auto over = parse_json_bounded(text, values(n - 1));
    ASSERT_FALSE(over.ok()) << text;
    EXPECT_EQ(over.error().code, ErrorCode::resource_exhausted);
  }
}

TEST(JsonBounded, ErrorsNameTheLimit) {
  auto bytes = parse_json_bounded("[1,2]", {.max_bytes = 4, .max_values = 10});
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.error().code, ErrorCode::resource_exhausted);
  EXPECT_EQ(bytes.error().message, "JSON of 5 bytes exceeds the limit of 4 bytes");

  auto deep = parse_json_bounded("[[[1]]]", depth(2));
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.error().message, "JSON nested deeper than 2 levels at byte 2");

  auto many = parse_json_bounded("[1,2,3]", values(3));
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(many.error().message, "JSON holds more than 3 values (at byte 4)");

  auto bad = parse_json_bounded("[1,", values(10));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(bad.error().message.find("invalid JSON at byte 4"), std::string::npos) << bad.error().message;

  EXPECT_FALSE(parse_json_bounded("", values(10)).ok());
  // nlohmann alone parses "4\0[[[" as 4; no other reader does.
  auto nul = parse_json_bounded(std::string_view("4\0[[[", 5), values(10));
  ASSERT_FALSE(nul.ok());
  EXPECT_EQ(nul.error().message, "invalid JSON at byte 2: a NUL byte");
  EXPECT_FALSE(parse_json_bounded(std::string_view("[\"a\0\"]", 6), values(10)).ok());
  EXPECT_FALSE(parse_json_bounded("[1] [2]", values(10)).ok());
}

TEST(JsonBounded, CallbackRunsAndMayStopTheParse) {
  std::size_t keys = 0;
  const nlohmann::json::parser_callback_t count_keys = [&keys](int, nlohmann::json::parse_event_t event,
                                                               nlohmann::json&) {
    if (event == nlohmann::json::parse_event_t::key) ++keys;
    return true;
  };
  auto doc = parse_json_bounded(R"({"a":{"b":1},"c":2})", values(10), count_keys);
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(keys, 3u);
  EXPECT_EQ((*doc)["a"]["b"], 1);

  const nlohmann::json::parser_callback_t stop = [](int, nlohmann::json::parse_event_t, nlohmann::json&) -> bool {
    throw std::runtime_error("stopped");
  };
  auto stopped = parse_json_bounded("[1]", values(10), stop);
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().message, "invalid JSON: stopped");
}

// The shapes of issue 13 (8 MiB of empty arrays, of empty objects, of small numbers; a million levels
// deep): refused by the pre-scan at the limit, having built nothing.
TEST(JsonBounded, BombsRefusedAtTheLimit) {
  const JsonLimits limits{.max_bytes = 8 * 1024 * 1024, .max_depth = 128, .max_values = 100'000};
  auto repeated = [](const std::string& item, std::size_t bytes) {
    std::string text = "[" + item;
    while (text.size() + item.size() + 2 < bytes) text += "," + item;
    return text + "]";
  };
  for (const std::string item : {"[]", "{}", "0", "\"\""}) {
    const std::string text = repeated(item, 8 * 1024 * 1024);
    const auto v = json_limit_violation(text, limits);
    ASSERT_TRUE(v.has_value()) << item;
    EXPECT_EQ(v->limit, JsonLimit::values) << item;
    // The root and the first element are 2 values; the j-th comma makes 2 + j, so the 99999th (at byte
    // 99999 * (item + comma)) is value 100001.
    EXPECT_EQ(v->offset, 1 + 99'999 * (item.size() + 1) - 1) << item;
    EXPECT_FALSE(parse_json_bounded(text, limits).ok());
  }
  const std::string deep = std::string(1'000'000, '[') + std::string(1'000'000, ']');
  EXPECT_EQ(json_limit_violation(deep, limits), at(JsonLimit::depth, 128));
  EXPECT_FALSE(json_limit_violation(deep, {.max_depth = 1'000'000, .max_values = 1'000'000}).has_value());
}

TEST(JsonBounded, MemoryBoundArithmetic) {
  EXPECT_EQ((JsonLimits{.max_bytes = 1024, .max_values = 10}).memory_bound(), 10 * kJsonBytesPerValue + 2048);
  EXPECT_EQ((JsonLimits{.max_values = 10}).memory_bound(), 10 * kJsonBytesPerValue);
}

}  // namespace
}  // namespace imagegate
