// Tests for common/yaml_hint.cc and common/suggest.cc: the hints added to YAML syntax errors, and "did you
// mean".
#include "common/yaml_hint.h"

#include <gtest/gtest.h>

#include "common/suggest.h"

namespace imagegate {
namespace {

TEST(YamlHint, Tabs) {
  // yaml-cpp often notices a tab a line later: any line up to the one after the error's counts.
  EXPECT_EQ(yaml_syntax_hint("a:\n\tb: 1\nc: 2\n", 2, "illegal map value"),
            "tabs are not allowed for indentation (line 2 is indented with a tab); indent with spaces");
  EXPECT_EQ(yaml_syntax_hint("a:\n  \tb: 1\n", 0, "whatever"),
            "tabs are not allowed for indentation (line 2 is indented with a tab); indent with spaces");
  // A tab after the indentation (inside a value) is not indentation.
  EXPECT_EQ(yaml_syntax_hint("a: x\ty\n", 0, "unknown"), "");
  // A tab far below the error is not its cause.
  EXPECT_EQ(yaml_syntax_hint("a: [\nb: 1\nc: 2\nd:\n\te: 1\n", 0, "unknown"), "");
}

TEST(YamlHint, Indentation) {
  EXPECT_EQ(yaml_syntax_hint("a:\n  b: 1\n c: 2\n", 2, "end of map not found"),
            "check the indentation near line 3: the keys of one mapping, and the items of one list, start in the "
            "same column");
  EXPECT_EQ(yaml_syntax_hint("a: \"x\n", 0, "end of map flow not found"), "");
  EXPECT_EQ(yaml_syntax_hint("a: 'x\n", -1, "illegal EOF in scalar"), "");
}

TEST(Suggest, ClosestMatch) {
  EXPECT_EQ(closest_match("expcet", {"name", "expect", "rule"}), "expect");
  EXPECT_EQ(closest_match("Rules", {"rules", "mode"}), "rules");
  EXPECT_EQ(closest_match("colour", {"name", "expect"}), std::nullopt);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

}  // namespace
}  // namespace imagegate
