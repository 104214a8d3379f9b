// Where the policy tests find their fixtures: $IMAGEGATE_SOURCE_DIR, or the tree this file was compiled
// from (gtest_discover_tests lists tests without the test environment, and parameterised cases are
// generated from the fixture folders at that point).
#pragma once

#include <cstdlib>
#include <filesystem>

namespace imagegate::policy::testing {

inline std::filesystem::path project_dir() {
  const char* env = std::getenv("IMAGEGATE_SOURCE_DIR");
  if (env != nullptr && *env != '\0') return env;
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
}

inline std::filesystem::path policies_dir() { return project_dir() / "tests" / "testdata" / "policies"; }

}  // namespace imagegate::policy::testing
