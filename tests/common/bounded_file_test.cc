// common/bounded_file.h: files of outside input read whole, never past their bound.
#include "common/bounded_file.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace imagegate {
namespace {

namespace fs = std::filesystem;

class BoundedFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "imagegate-bounded.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& content) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  fs::path dir_;
};

TEST_F(BoundedFileTest, ReadsFilesUpToTheBound) {
  EXPECT_EQ(read_bounded_file(write("empty", ""), 10).value(), "");
  EXPECT_EQ(read_bounded_file(write("small", "abc"), 10).value(), "abc");
  EXPECT_EQ(read_bounded_file(write("exact", std::string(10, 'x')), 10).value(), std::string(10, 'x'));
  // Larger than one 64 KiB step, within the bound: every byte, in order.
  std::string big;
  for (int i = 0; i < 200'000; ++i) big.push_back(static_cast<char>('a' + i % 26));
  EXPECT_EQ(read_bounded_file(write("big", big), big.size()).value(), big);
}

TEST_F(BoundedFileTest, RefusesOneByteOverTheBoundNamingIt) {
  const std::string path = write("over", std::string(11, 'x'));
  const auto r = read_bounded_file(path, 10);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::resource_exhausted);
  EXPECT_EQ(r.error().message, path + ": larger than 10 bytes");
  EXPECT_EQ(read_bounded_file(write("zero", "x"), 0).error().code, ErrorCode::resource_exhausted);
}

TEST_F(BoundedFileTest, AnEndlessFileIsRefusedAtTheBound) {
  // /dev/zero never ends: the read stops one byte past the bound.
  const auto r = read_bounded_file("/dev/zero", 100'000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::resource_exhausted);
}

TEST_F(BoundedFileTest, MissingFilesAndDirectoriesAreNamed) {
  const std::string missing = (dir_ / "missing").string();
  const auto m = read_bounded_file(missing, 10);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, ErrorCode::not_found);
  EXPECT_NE(m.error().message.find(missing + ": cannot read"), std::string::npos) << m.error().message;

  const auto d = read_bounded_file(dir_.string(), 10);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(d.error().message, dir_.string() + ": is a directory");
}

}  // namespace
}  // namespace imagegate
