// Tests the verdict API's token file (webhook/api/api_tokens.cc): rw:/ro: lines, comments, refusals, and the
// access a header grants, including reload when the file changes. (Moved from verdict_api_test.cc.)
#include "webhook/api/api_tokens.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace imagegate::webhook {
namespace {

TEST(ApiTokens, ParseRefusals) {
  EXPECT_TRUE(ApiTokens::parse("# c\n\nrw:0123456789abcdef\r\n  ro:fedcba9876543210  \n", "f").ok());
  EXPECT_FALSE(ApiTokens::parse("", "f").ok());
  EXPECT_FALSE(ApiTokens::parse("0123456789abcdef\n", "f").ok());  // no prefix
  EXPECT_FALSE(ApiTokens::parse("rw:short\n", "f").ok());
  auto bad = ApiTokens::parse("rw:0123456789abcdef\nxx:0123456789abcdef\n", "tokens");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("tokens:2"), std::string::npos);
}

TEST(ApiTokens, AccessAndReload) {
  const auto file = std::filesystem::temp_directory_path() / ("imagegate-tokens-" + std::to_string(::getpid()));
  std::ofstream(file) << "rw:write-0123456789abcdef\nro:read-0123456789abcdef\n";
  auto tokens = ApiTokens::load(file);
  ASSERT_TRUE(tokens.ok()) << tokens.error().message;
  ApiTokens& t = **tokens;
  EXPECT_EQ(t.check("Bearer write-0123456789abcdef"), Access::write);
  EXPECT_EQ(t.check("Bearer read-0123456789abcdef"), Access::read);
  EXPECT_EQ(t.check("Bearer read-0123456789abcdeF"), Access::none);
  EXPECT_EQ(t.check("Bearer "), Access::none);
  EXPECT_EQ(t.check("Basic cmVhZA=="), Access::none);
  EXPECT_EQ(t.check("read-0123456789abcdef"), Access::none);
  EXPECT_EQ(t.check(""), Access::none);
  // Rotation: the old write token goes, a new one comes.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::ofstream(file, std::ios::trunc) << "rw:new-write-0123456789abcdef\n";
  std::filesystem::last_write_time(file, std::filesystem::file_time_type::clock::now() + std::chrono::seconds(5));
  EXPECT_EQ(t.check("Bearer write-0123456789abcdef"), Access::none);
  EXPECT_EQ(t.check("Bearer new-write-0123456789abcdef"), Access::write);
  std::filesystem::remove(file);
  EXPECT_FALSE(ApiTokens::load(file).ok());
}

}  // namespace
}  // namespace imagegate::webhook
