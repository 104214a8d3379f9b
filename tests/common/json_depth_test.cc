// Tests common/json_depth.cc: the offset of the first container that nests too deeply, strings and their
// escapes skipped, stray closers not lending depth, and a very deep document refused without recursion.
#include "common/json_depth.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace imagegate {
namespace {

struct Case {
  const char* name;
  std::string text;
  int max_depth;
  std::optional<std::size_t> want;
};

TEST(JsonDepth, Table) {
  const Case cases[] = {
      {"empty", "", 0, std::nullopt},
      {"scalar at depth 0", "42", 0, std::nullopt},
      {"one object at limit 1", R"({"a":1})", 1, std::nullopt},
      {"one object over limit 0", R"({"a":1})", 0, 0},
      {"nested at limit", R"({"a":[{"b":[]}]})", 4, std::nullopt},
      {"nested one over", R"({"a":[{"b":[]}]})", 3, 11},
      {"siblings do not add up", R"([[1],[2],[3],{"x":1}])", 2, std::nullopt},
      {"brackets in strings skipped", R"({"a":"[[[[{{{{"})", 1, std::nullopt},
      {"escaped quote keeps the string open", R"({"a":"\"[[[["})", 1, std::nullopt},
      {"escaped backslash closes the string", R"({"a":"\\",  "b":[[1]]})", 2, 17},
      {"unicode escape inside string", R"(["\u005b[["])", 1, std::nullopt},
      {"stray closers lend no depth", "]]]][[", 1, 5},
      {"unterminated string hides the rest", R"(["abc[[[[)", 1, std::nullopt},
      {"negative limit refuses any container", "[]", -1, 0},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(json_depth_violation(c.text, c.max_depth), c.want) << c.name;
    EXPECT_EQ(json_depth_within(c.text, c.max_depth), !c.want.has_value()) << c.name;
  }
}

TEST(JsonDepth, MillionLevelsRefusedAtTheLimit) {
  const std::string deep = std::string(1'000'000, '[') + std::string(1'000'000, ']');
  EXPECT_EQ(json_depth_violation(deep, 64), 64u);
  EXPECT_TRUE(json_depth_within(deep, 1'000'000));
}

}  // namespace
}  // namespace imagegate
