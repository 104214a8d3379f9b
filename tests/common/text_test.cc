// Tests common/text.h: ascii_lower leaves non-ASCII bytes alone, join puts separators only between
// non-empty text, base64_encode pads every length, url_encode escapes reserved and non-ASCII bytes.
#include "common/text.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace imagegate {
namespace {

TEST(AsciiLower, OnlyAsciiLettersChange) {
  EXPECT_EQ(ascii_lower(""), "");
  EXPECT_EQ(ascii_lower("Registry.EXAMPLE:5000/A-Z_09"), "registry.example:5000/a-z_09");
  EXPECT_EQ(ascii_lower("\xC3\x84Ü"), "\xC3\x84Ü");  // UTF-8 bytes stay as they are
  EXPECT_EQ(ascii_lower(std::string_view("A\0B", 3)), std::string("a\0b", 3));
}

TEST(Join, SeparatorsGoBetweenItems) {
  EXPECT_EQ(join(std::vector<std::string>{}, ", "), "");
  EXPECT_EQ(join(std::vector<std::string>{"a"}, ", "), "a");
  EXPECT_EQ(join(std::vector<std::string>{"a", "b", "c"}, ", "), "a, b, c");
  EXPECT_EQ(join(std::vector<std::string>{"a", "b"}, ""), "ab");
  EXPECT_EQ(join(std::vector<std::string>{"a", "b"}, " | "), "a | b");
}

TEST(Join, AcceptsViewsAndArrays) {
  EXPECT_EQ(join(std::vector<std::string_view>{"x", "y"}, ","), "x,y");
  EXPECT_EQ(join(std::array<const char*, 2>{"p", "q"}, "\n"), "p\nq");
}

TEST(Join, EmptyItemsAddNoLeadingSeparator) {
  EXPECT_EQ(join(std::vector<std::string>{"", "a"}, ", "), "a");
  EXPECT_EQ(join(std::vector<std::string>{"", ""}, ", "), "");
  EXPECT_EQ(join(std::vector<std::string>{"a", "", "b"}, ","), "a,,b");
  EXPECT_EQ(join(std::vector<std::string>{"a", ""}, ","), "a,");
}

TEST(Base64Encode, PadsEveryLength) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(Base64Encode, UsesTheStandardAlphabetForAllBytes) {
  EXPECT_EQ(base64_encode(std::string("\xFB\xFF\xBF", 3)), "+/+/");
  EXPECT_EQ(base64_encode(std::string("\0\0\0", 3)), "AAAA");
  EXPECT_EQ(base64_encode(std::string("\0", 1)), "AA==");
  EXPECT_EQ(base64_encode("user:p@ss"), "dXNlcjpwQHNz");
}

TEST(UrlEncode, KeepsUnreservedCharacters) {
  EXPECT_EQ(url_encode(""), "");
  EXPECT_EQ(url_encode("AZaz09-._~"), "AZaz09-._~");
}

TEST(UrlEncode, EscapesReservedBytesInUpperCaseHex) {
  EXPECT_EQ(url_encode("repository:library/nginx:pull,push"), "repository%3Alibrary%2Fnginx%3Apull%2Cpush");
  EXPECT_EQ(url_encode("a b+c&d=e?f#g%h"), "a%20b%2Bc%26d%3De%3Ff%23g%25h");
  EXPECT_EQ(url_encode(std::string("\0\n\x7F", 3)), "%00%0A%7F");
}

TEST(UrlEncode, EscapesNonAsciiBytesOneByOne) {
  EXPECT_EQ(url_encode("\xC3\xA9"), "%C3%A9");  // é
  EXPECT_EQ(url_encode("\xFF"), "%FF");
}

}  // namespace
}  // namespace imagegate
