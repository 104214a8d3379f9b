#include "tests/test_support.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace imagegate::testing {
namespace {

std::filesystem::path from_env(const char* name, const std::filesystem::path& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::filesystem::path(value) : fallback;
}

}  // namespace

std::filesystem::path source_dir() { return from_env("IMAGEGATE_SOURCE_DIR", IMAGEGATE_DEFAULT_SOURCE_DIR); }

std::filesystem::path conformance_dir() {
  return from_env("IMAGEGATE_CONFORMANCE_DIR", IMAGEGATE_DEFAULT_CONFORMANCE_DIR);
}

std::filesystem::path imagegate_binary() { return from_env("IMAGEGATE_BINARY", IMAGEGATE_DEFAULT_BINARY); }

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace imagegate::testing
