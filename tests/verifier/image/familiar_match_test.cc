// Tests verifier/image/familiar_match.cc: path_match follows Go's path.Match (stars, classes, escapes,
// runes, malformed patterns never match) and familiar_match tries the familiar string, then the name.
#include "verifier/image/image_reference.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <variant>

namespace imagegate::verifier {
namespace {

TEST(PathMatch, GoSemantics) {
  EXPECT_EQ(path_match("abc", "abc"), true);
  EXPECT_EQ(path_match("*", "abc"), true);
  EXPECT_EQ(path_match("*c", "abc"), true);
  EXPECT_EQ(path_match("a*", "a"), true);
  EXPECT_EQ(path_match("a*/b", "abc/b"), true);
  EXPECT_EQ(path_match("a*/b", "a/c/b"), false);
  EXPECT_EQ(path_match("a*b*c*d*e*/f", "axbxcxdxe/f"), true);
  EXPECT_EQ(path_match("a*b*c*d*e*/f", "axbxcxdxexxx/f"), true);
  EXPECT_EQ(path_match("a*b*c*d*e*/f", "axbxcxdxe/xxx/f"), false);
  EXPECT_EQ(path_match("a*b?c*x", "abxbbxdbxebxczzx"), true);
  EXPECT_EQ(path_match("a*b?c*x", "abxbbxdbxebxczzy"), false);
  EXPECT_EQ(path_match("ab[c]", "abc"), true);
  EXPECT_EQ(path_match("ab[b-d]", "abc"), true);
  EXPECT_EQ(path_match("ab[e-g]", "abc"), false);
  EXPECT_EQ(path_match("ab[^c]", "abc"), false);
  EXPECT_EQ(path_match("ab[^e-g]", "abc"), true);
  EXPECT_EQ(path_match("a\\*b", "a*b"), true);
  EXPECT_EQ(path_match("a\\*b", "ab"), false);
  EXPECT_EQ(path_match("a?b", "a☺b"), true);
  EXPECT_EQ(path_match("a[^a]b", "a☺b"), true);
  EXPECT_EQ(path_match("a???b", "a☺b"), false);
  EXPECT_EQ(path_match("*x", "xxx"), true);
  EXPECT_EQ(path_match("a?b", "a/b"), false);
  EXPECT_EQ(path_match("a*b", "a/b"), false);
  EXPECT_EQ(path_match("a*", "ab/c"), false);
  EXPECT_EQ(path_match("a*b*c*d*e*/f", "axbxcxdxexxx/fff"), false);
  EXPECT_EQ(path_match("ab[^b-d]", "abc"), false);
  EXPECT_EQ(path_match("a[^a][^a][^a]b", "a☺b"), false);
  EXPECT_EQ(path_match("[a-ζ]*", "α"), true);
  EXPECT_EQ(path_match("*[a-ζ]", "A"), false);
  EXPECT_EQ(path_match("[\\]a]", "]"), true);
  EXPECT_EQ(path_match("[\\-]", "-"), true);
  EXPECT_EQ(path_match("[x\\-]", "-"), true);
  EXPECT_EQ(path_match("[x\\-]", "z"), false);
  EXPECT_EQ(path_match("[\\-x]", "a"), false);
  // Malformed patterns are errors, also after an early mismatch.
  EXPECT_EQ(path_match("[", "a"), std::nullopt);
  EXPECT_EQ(path_match("[^", "a"), std::nullopt);
  EXPECT_EQ(path_match("[]a]", "]"), std::nullopt);
  EXPECT_EQ(path_match("[-]", "-"), std::nullopt);
  EXPECT_EQ(path_match("[x-]", "x"), std::nullopt);
  EXPECT_EQ(path_match("\\", "a"), std::nullopt);
  EXPECT_EQ(path_match("[a-b-c]", "a"), std::nullopt);
  EXPECT_EQ(path_match("[^bc", "a"), std::nullopt);
  EXPECT_EQ(path_match("a/b[", "x"), std::nullopt);
  EXPECT_EQ(path_match("a[", "x"), std::nullopt);
  EXPECT_EQ(path_match("*x[", "abc"), std::nullopt);
  // A malformed pattern never makes familiar_match true.
  EXPECT_FALSE(familiar_match("nginx[", std::get<ImageReference>(ImageReference::parse_normalized("nginx"))));
}

}  // namespace
}  // namespace imagegate::verifier
